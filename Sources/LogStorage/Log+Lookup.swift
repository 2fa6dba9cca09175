extension Log {
    /// Locates the record batch that holds `offset`: the segment it lives in and the byte position
    /// of the batch's first byte in that segment's `.log` file.
    ///
    /// This is the lookup every fetch starts with (Kafka `LogSegment.translateOffset`): a binary
    /// search over the segments' base offsets, a search of the segment's sparse offset index, then a
    /// forward scan of batch headers from the index entry to the first batch whose last offset is
    /// at or after `offset`. When `offset` falls in a gap (compacted away) the next batch is returned.
    /// - Parameter offset: the offset to locate.
    /// - Returns: the base offset of the segment holding the batch and the batch's byte position in
    ///   it, or `nil` when `offset` is below ``logStartOffset`` or at or past ``logEndOffset``.
    /// - Throws: ``StorageError`` when a segment file cannot be read or a batch header is corrupt.
    public func position(of offset: Int64) throws -> (segmentBaseOffset: Int64, position: Int64)? {
        guard offset >= logStartOffset, offset < logEndOffset else { return nil }
        var index = segmentIndex(containing: offset)
        while index < segments.count {
            let segment = segments[index]
            touch(segment)
            if let position = try segment.position(of: offset) {
                return (segment.baseOffset, position)
            }
            index += 1
        }
        return nil
    }
}
