/// Who a connection acts as, in Kafka's `Type:name` form (`User:alice`, `User:ANONYMOUS`).
///
/// A PLAINTEXT or SSL connection without a client certificate is `User:ANONYMOUS`; an SSL
/// connection with a verified client certificate is `User:<certificate subject>`; a SASL
/// connection is `User:<authenticated user name>` (Kafka's `DefaultKafkaPrincipalBuilder`).
/// ACLs and `super.users` name principals in this form.
public struct KafkaPrincipal: Hashable, Sendable, CustomStringConvertible {
    /// The principal type; Kafka's built-in principal builder uses only `User`.
    public var type: String
    /// The user name, certificate subject or `ANONYMOUS`.
    public var name: String

    public init(type: String = "User", name: String) {
        self.type = type
        self.name = name
    }

    /// The principal of a connection that has not authenticated.
    public static let anonymous = KafkaPrincipal(name: "ANONYMOUS")

    /// Parses `Type:name`; the name may itself contain `:` (a certificate subject rarely does, but
    /// Kafka splits on the first one only).
    /// - Returns: nil when there is no `:` or either side is empty.
    public static func parse(_ text: String) -> KafkaPrincipal? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let type = String(text[..<colon])
        let name = String(text[text.index(after: colon)...])
        guard !type.isEmpty, !name.isEmpty else { return nil }
        return KafkaPrincipal(type: type, name: name)
    }

    public var description: String { "\(type):\(name)" }
}
