import KafkaSASL
import Synchronization

/// The SCRAM credentials connections authenticate against: a copy of the metadata image's
/// credentials (`UserScramCredentialRecord`s), replaced whenever they change, readable from any
/// connection without waiting for the controller.
final class ScramCredentialStore: Sendable {
    private let credentials = Mutex<[String: [ScramAlgorithm: ScramCredential]]>([:])

    init() {}

    /// The credential of `user` for `algorithm`, nil when there is none.
    func credential(user: String, algorithm: ScramAlgorithm) -> ScramCredential? {
        credentials.withLock { $0[user]?[algorithm] }
    }

    /// Replaces every credential (called with the image's after each change).
    func replace(_ all: [String: [ScramAlgorithm: ScramCredential]]) {
        credentials.withLock { $0 = all }
    }
}
