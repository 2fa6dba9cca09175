import SystemPackage

extension Log {
    /// The closed segments (all but the active one) for the scrubber, oldest first.
    public var scrubTargets: [ScrubTarget] {
        zip(segments.dropLast(), segments.dropFirst()).map { segment, next in
            ScrubTarget(path: segment.logPath, baseOffset: segment.baseOffset, endOffset: next.baseOffset, sizeBytes: segment.sizeBytes)
        }
    }

    /// Records a corrupt range found by the scrubber so reads stop serving it.
    /// - Returns: false when it is not news: the segment is no longer this log's (deleted or
    ///   replaced since it was listed), the range is already below the log start offset, or an
    ///   overlapping range is already recorded.
    @discardableResult
    public func recordCorruption(_ corruption: LogCorruption) -> Bool {
        guard segments.dropLast().contains(where: { $0.logPath.string == corruption.segmentPath }),
              corruption.offsets.upperBound > logStartOffset,
              !corruptions.contains(where: { $0.offsets.overlaps(corruption.offsets) })
        else { return false }
        corruptions.append(corruption)
        corruptions.sort { $0.offsets.lowerBound < $1.offsets.lowerBound }
        logger.error("stored data failed verification; it is not served until fetched again from a healthy replica",
                     metadata: ["dir": "\(directory)", "offsets": "[\(corruption.offsets.lowerBound), \(corruption.offsets.upperBound))",
                                "segment": "\(corruption.segmentPath)", "position": "\(corruption.position)",
                                "reason": "\(corruption.reason)"])
        return true
    }

    /// The first offset of the lowest corrupt range still in the log, if any.
    public var firstCorruptOffset: Int64? {
        corruptions.first { $0.offsets.upperBound > logStartOffset }.map { max($0.offsets.lowerBound, logStartOffset) }
    }

    /// The bound a read from `offset` may go up to without entering a corrupt range.
    /// - Throws: ``StorageError/corruptRange(_:)`` when `offset` itself is inside one.
    func servableBound(from offset: Int64, upperBound: Int64) throws -> Int64 {
        var bound = upperBound
        for corruption in corruptions where corruption.offsets.upperBound > offset {
            if corruption.offsets.lowerBound <= offset { throw StorageError.corruptRange(corruption) }
            bound = min(bound, corruption.offsets.lowerBound)
        }
        return bound
    }

    /// Drops the ranges at or after `end`: truncation removed those bytes, and whatever is appended
    /// there next is new.
    func forgetCorruptions(from end: Int64) {
        corruptions.removeAll { $0.offsets.upperBound > end }
    }
}
