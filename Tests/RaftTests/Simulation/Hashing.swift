@testable import Raft

/// A 64-bit mixing function (SplitMix64's finalizer over a combination of both inputs).
@inline(__always)
func mixHash(_ seed: UInt64, _ value: UInt64) -> UInt64 {
    var z = seed ^ (value &+ 0x9E37_79B9_7F4A_7C15 &+ (seed << 6) &+ (seed >> 2))
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Hash of one entry: offset, epoch and record, so equal hashes mean the same entry.
func entryHash(_ entry: LogEntry<UInt64>) -> UInt64 {
    let position = mixHash(UInt64(bitPattern: entry.offset.rawValue), UInt64(UInt32(bitPattern: entry.epoch.rawValue)))
    switch entry.record {
    case .data(let payload):
        return mixHash(position, payload)
    case .leaderChange(let message):
        var hash = mixHash(position, 0xC0FF_EE00 | UInt64(UInt32(bitPattern: message.leaderID.rawValue)))
        for voter in message.grantingVoters { hash = mixHash(hash, UInt64(UInt32(bitPattern: voter.rawValue))) }
        return hash
    }
}

/// The hash of a log prefix ending with `entry`, given the hash of the prefix before it. Two logs
/// with equal prefix hashes at an offset hold identical entries up to that offset.
@inline(__always)
func extendPrefix(_ prefix: UInt64, with entry: LogEntry<UInt64>) -> UInt64 { mixHash(prefix, entryHash(entry)) }

/// The simulated state machine's snapshot: the prefix hash of everything applied.
func encodeSnapshot(_ prefixHash: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: prefixHash >> ($0 * 8)) } }

func decodeSnapshot(_ bytes: [UInt8]) -> UInt64 {
    bytes.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << ($1.offset * 8) }
}
