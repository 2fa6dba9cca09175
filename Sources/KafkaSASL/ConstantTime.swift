/// Compares two byte strings in time that depends only on their lengths, so a client probing a
/// proof or password learns nothing from how long the comparison took (RFC 5802 section 9).
/// Callers compare fixed-length values (hashes, HMACs), so the length is no secret.
public func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
