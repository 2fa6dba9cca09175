/// A small deterministic random number generator (SplitMix64), the only source of randomness in
/// `RaftNode`: it draws the election-timeout jitter.
///
/// The node never reads the system clock or the system generator, so a node fed the same seed and the
/// same inputs makes the same choices; this is what lets a simulation replay a failure from its seed.
/// SplitMix64 (Steele, Lea and Flood, 2014) passes BigCrush and needs one 64-bit word of state.
public struct SeededRandom: RandomNumberGenerator, Sendable, Equatable {
    /// The whole generator state; copying the generator forks the sequence.
    public private(set) var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    /// - Parameter seed: any value; equal seeds give equal sequences.
    public init(seed: UInt64) { self.state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound`, by Lemire's multiply-high method (bias below 2⁻⁶⁴·bound, which
    /// is irrelevant for timeouts and fault injection). Implemented here rather than with
    /// `Int.random(in:using:)` so sequences stay the same across Swift versions.
    /// - Parameter bound: the exclusive upper bound; must be positive.
    /// - Returns: a value in `0..<bound`.
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "SeededRandom.next(below:) needs a positive bound, got \(bound)")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform integer in `range`.
    /// - Parameter range: a non-empty closed range.
    /// - Returns: a value in `range`.
    public mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + next(below: range.upperBound - range.lowerBound + 1)
    }

    /// `true` with probability `probability`.
    /// - Parameter probability: 0 (never) ... 1 (always).
    /// - Returns: whether the event happens.
    public mutating func chance(_ probability: Double) -> Bool {
        probability > 0 && Double(next() >> 11) * 0x1.0p-53 < probability
    }
}
