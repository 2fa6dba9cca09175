/// Why a SASL exchange failed. ``message`` is what the other side may be told: it never says
/// whether a user exists.
public struct SaslError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The peer's message does not follow the mechanism's syntax.
        case malformedMessage
        /// Wrong password, unknown user, or a proof that does not verify.
        case authenticationFailed
        /// The peer sent something out of turn, or a value the mechanism forbids.
        case illegalState
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
