/// One JAAS login module entry as Kafka's `sasl.jaas.config` values write it (Kafka
/// `JaasConfig`): `<LoginModuleClass> <flag> key1="value1" key2=value2;`.
///
/// For PLAIN, `user_<name>="<password>"` options are the users a listener accepts and
/// `username`/`password` the broker's own identity on inter-broker connections.
struct JaasConfig: Equatable, Sendable {
    /// The login module class (`org.apache.kafka.common.security.plain.PlainLoginModule`).
    var loginModule: String
    /// `required`, `requisite`, `sufficient` or `optional`.
    var flag: String
    var options: [String: String]

    /// The `username` option.
    var username: String? { options["username"] }
    /// The `password` option.
    var password: String? { options["password"] }

    /// The `user_<name>` options as name to password.
    var users: [String: String] {
        var out: [String: String] = [:]
        for (key, value) in options where key.hasPrefix("user_") && key.count > 5 { out[String(key.dropFirst(5))] = value }
        return out
    }

    enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        var description: String {
            switch self { case .malformed(let reason): return "invalid JAAS configuration: \(reason)" }
        }
    }

    /// Parses one login module entry. Values are double-quoted (with `\"` and `\\` escapes) or
    /// bare tokens; the entry ends with `;`.
    /// - Throws: ``ParseError`` naming what is wrong (never echoing option values, which hold passwords).
    init(parsing text: String) throws {
        var scanner = Scanner(Array(text.unicodeScalars))
        guard let module = scanner.token(), !module.isEmpty else { throw ParseError.malformed("expected a login module class") }
        guard let flag = scanner.token(), ["required", "requisite", "sufficient", "optional"].contains(flag.lowercased()) else {
            throw ParseError.malformed("expected a control flag (required, requisite, sufficient, optional) after \(module)")
        }
        var options: [String: String] = [:]
        while true {
            scanner.skipWhitespace()
            guard let next = scanner.peek() else { throw ParseError.malformed("missing ';' at the end") }
            if next == ";" {
                scanner.advance()
                scanner.skipWhitespace()
                guard scanner.peek() == nil else { throw ParseError.malformed("only one login module is allowed") }
                break
            }
            guard let key = scanner.key(), !key.isEmpty, scanner.peek() == "=" else {
                throw ParseError.malformed("expected key=value options")
            }
            scanner.advance()
            guard let value = try scanner.value() else { throw ParseError.malformed("option \(key) has no value") }
            options[key] = value
        }
        self.loginModule = module
        self.flag = flag.lowercased()
        self.options = options
    }

    private struct Scanner {
        let chars: [Unicode.Scalar]
        var index = 0
        init(_ chars: [Unicode.Scalar]) { self.chars = chars }

        func peek() -> Unicode.Scalar? { index < chars.count ? chars[index] : nil }
        mutating func advance() { index += 1 }
        mutating func skipWhitespace() {
            while let c = peek(), c.properties.isWhitespace { advance() }
        }
        /// A whitespace-delimited word.
        mutating func token() -> String? {
            skipWhitespace()
            var out = ""
            while let c = peek(), !c.properties.isWhitespace, c != ";" { out.unicodeScalars.append(c); advance() }
            return out.isEmpty ? nil : out
        }
        mutating func key() -> String? {
            var out = ""
            while let c = peek(), !c.properties.isWhitespace, c != "=", c != ";" { out.unicodeScalars.append(c); advance() }
            return out
        }
        mutating func value() throws -> String? {
            guard let first = peek() else { return nil }
            var out = ""
            if first == "\"" {
                advance()
                while true {
                    guard let c = peek() else { throw ParseError.malformed("unterminated quoted value") }
                    advance()
                    if c == "\"" { return out }
                    if c == "\\", let escaped = peek() { out.unicodeScalars.append(escaped); advance(); continue }
                    out.unicodeScalars.append(c)
                }
            }
            while let c = peek(), !c.properties.isWhitespace, c != ";" { out.unicodeScalars.append(c); advance() }
            return out.isEmpty ? nil : out
        }
    }
}
