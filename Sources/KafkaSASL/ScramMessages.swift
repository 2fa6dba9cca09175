/// The SCRAM messages of RFC 5802 section 7, as text. Attribute values never contain `,`; user
/// names escape `,` and `=` as `=2C` and `=3D` (`saslname`).
public enum ScramMessages {
    /// The client's first message: GS2 header, then the bare part (`n=user,r=nonce[,ext...]`).
    public struct ClientFirst: Equatable, Sendable {
        /// The GS2 header, `n,,` or `y,,` or `n,a=user,` (channel binding is not supported).
        public var gs2Header: String
        /// The authorization identity from `a=`, if any.
        public var authorizationID: String?
        public var username: String
        public var nonce: String
        /// Extensions after the nonce (`tokenauth=true` is Kafka's delegation-token flag).
        public var extensions: [String: String]
        /// `client-first-message-bare`, part of the AuthMessage.
        public var bare: String

        public init(username: String, nonce: String) {
            gs2Header = "n,,"
            authorizationID = nil
            self.username = username
            self.nonce = nonce
            extensions = [:]
            bare = "n=\(escape(username)),r=\(nonce)"
        }

        /// Parses a client-first-message.
        /// - Throws: ``SaslError`` (malformed) on bad syntax or when the client asks for channel binding.
        public init(parsing text: String) throws {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 4 else { throw SaslError(.malformedMessage, "Invalid SCRAM client first message") }
            switch parts[0] {
            case "n", "y": break
            default: throw SaslError(.malformedMessage, "SCRAM channel binding is not supported")
            }
            if parts[1].isEmpty {
                authorizationID = nil
            } else if parts[1].hasPrefix("a=") {
                authorizationID = try unescape(String(parts[1].dropFirst(2)))
            } else {
                throw SaslError(.malformedMessage, "Invalid SCRAM client first message")
            }
            gs2Header = parts[0] + "," + parts[1] + ","
            guard parts[2].hasPrefix("n="), parts[3].hasPrefix("r="), parts[3].count > 2 else {
                throw SaslError(.malformedMessage, "Invalid SCRAM client first message")
            }
            username = try unescape(String(parts[2].dropFirst(2)))
            nonce = String(parts[3].dropFirst(2))
            guard !username.isEmpty else { throw SaslError(.malformedMessage, "Invalid SCRAM client first message") }
            extensions = try parseExtensions(parts.dropFirst(4))
            bare = parts.dropFirst(2).joined(separator: ",")
        }

        public var text: String { gs2Header + bare }
    }

    /// The server's first message: `r=<client nonce><server nonce>,s=<salt>,i=<iterations>`.
    public struct ServerFirst: Equatable, Sendable {
        public var nonce: String
        public var salt: [UInt8]
        public var iterations: Int

        public init(nonce: String, salt: [UInt8], iterations: Int) {
            self.nonce = nonce
            self.salt = salt
            self.iterations = iterations
        }

        /// - Throws: ``SaslError`` (malformed) on bad syntax, or the server's `e=` error.
        public init(parsing text: String) throws {
            let attributes = try parseAttributes(text)
            if let error = attributes["e"] { throw SaslError(.authenticationFailed, "Server error: \(error)") }
            guard let nonce = attributes["r"], !nonce.isEmpty, let saltText = attributes["s"], let salt = Base64.decode(saltText),
                  let iterationsText = attributes["i"], let iterations = Int(iterationsText) else {
                throw SaslError(.malformedMessage, "Invalid SCRAM server first message")
            }
            self.init(nonce: nonce, salt: salt, iterations: iterations)
        }

        public var text: String { "r=\(nonce),s=\(Base64.encode(salt)),i=\(iterations)" }
    }

    /// The client's final message: `c=<base64 GS2 header>,r=<nonce>,p=<base64 proof>`.
    public struct ClientFinal: Equatable, Sendable {
        /// Base64 of the GS2 header (`biws` for `n,,`).
        public var channelBinding: String
        public var nonce: String
        public var proof: [UInt8]

        /// `client-final-message-without-proof`, part of the AuthMessage.
        public var withoutProof: String

        public init(channelBinding: String, nonce: String, proof: [UInt8]) {
            self.channelBinding = channelBinding
            self.nonce = nonce
            self.proof = proof
            withoutProof = "c=\(channelBinding),r=\(nonce)"
        }

        /// - Throws: ``SaslError`` (malformed) on bad syntax.
        public init(parsing text: String) throws {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3, parts[0].hasPrefix("c="), parts[1].hasPrefix("r="), let last = parts.last, last.hasPrefix("p="),
                  let proof = Base64.decode(last.dropFirst(2)) else {
                throw SaslError(.malformedMessage, "Invalid SCRAM client final message")
            }
            self.init(channelBinding: String(parts[0].dropFirst(2)), nonce: String(parts[1].dropFirst(2)), proof: proof)
            withoutProof = parts.dropLast().joined(separator: ",")
        }

        public var text: String { withoutProof + ",p=\(Base64.encode(proof))" }
    }

    /// `saslname` escaping: `=` as `=3D`, `,` as `=2C`.
    public static func escape(_ name: String) -> String {
        name.replacingAll("=", with: "=3D").replacingAll(",", with: "=2C")
    }

    /// Undoes ``escape(_:)``.
    /// - Throws: ``SaslError`` (malformed) for a `=` not followed by `2C` or `3D`.
    public static func unescape(_ name: String) throws -> String {
        var out = ""
        var index = name.startIndex
        while index < name.endIndex {
            let char = name[index]
            if char == "=" {
                let code = name[name.index(after: index)...].prefix(2)
                switch code {
                case "2C": out.append(",")
                case "3D": out.append("=")
                default: throw SaslError(.malformedMessage, "Invalid SCRAM user name encoding")
                }
                index = name.index(index, offsetBy: 3)
            } else {
                out.append(char)
                index = name.index(after: index)
            }
        }
        return out
    }

    /// `k=v` attributes separated by commas (the value may contain `=`).
    static func parseAttributes(_ text: String) throws -> [String: String] {
        try attributes(text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)[...])
    }

    static func attributes(_ parts: ArraySlice<String>) throws -> [String: String] {
        var out: [String: String] = [:]
        for part in parts {
            guard let eq = part.firstIndex(of: "="), eq != part.startIndex else {
                throw SaslError(.malformedMessage, "Invalid SCRAM attribute")
            }
            out[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        return out
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for char in self {
            if char == target { out += replacement } else { out.append(char) }
        }
        return out
    }
}

private func escape(_ name: String) -> String { ScramMessages.escape(name) }
private func unescape(_ name: String) throws -> String { try ScramMessages.unescape(name) }
private func parseExtensions(_ parts: ArraySlice<String>) throws -> [String: String] { try ScramMessages.attributes(parts) }
private func parseAttributes(_ text: String) throws -> [String: String] { try ScramMessages.parseAttributes(text) }
