import KafkaProtocol
import Logging
import NIOCore

/// Decodes a request frame, dispatches it to the handler of its API and frames the response.
///
/// Requests that cannot be understood close their connection (as Kafka does), with the reason
/// returned for one log line: an unknown API key, an unsupported version of a known API, or a
/// body that does not parse. ApiVersions is the exception (KIP-511): any version gets an answer,
/// UNSUPPORTED_VERSION with the v0 body layout when the version is too new.
struct RequestRouter: Sendable {
    let handlers: RequestHandlers

    func handle(frame: ByteBuffer, context: RequestContext) async -> RouterOutcome {
        guard let prefix = RequestHeader.peekPrefix(frame) else {
            return .close(reason: "request frame of \(frame.readableBytes) bytes is shorter than a request header")
        }
        if prefix.apiKey == .apiVersions, let range = SupportedApis.ranges[.apiVersions], !range.contains(prefix.apiVersion) {
            // KIP-511: answer in v0 without parsing the body, listing ApiVersions' own range.
            let body = ApiVersionsResponse(errorCode: .unsupportedVersion, apiKeys: [
                .init(apiKey: ApiKey.apiVersions.rawValue, minVersion: range.lowerBound, maxVersion: range.upperBound),
            ])
            return .respond(Self.frame(body, apiKey: .apiVersions, version: 0, correlationID: prefix.correlationID))
        }
        guard let range = SupportedApis.ranges[prefix.apiKey] else {
            return .close(reason: "unknown or unsupported API key \(prefix.apiKey.rawValue) (version \(prefix.apiVersion))")
        }
        guard range.contains(prefix.apiVersion) else {
            return .close(reason: "unsupported version \(prefix.apiVersion) of \(prefix.apiKey) (supported \(range.lowerBound)-\(range.upperBound))")
        }
        var body = frame
        let header: RequestHeader
        do {
            header = try RequestHeader.decode(from: &body)
        } catch {
            return .close(reason: "malformed \(prefix.apiKey) v\(prefix.apiVersion) request header: \(error)")
        }
        do {
            return try await dispatch(header: header, body: body, context: context)
        } catch let error as ProtocolError {
            context.logger.debug("malformed request bytes", metadata: ["hex": "\(frame.hexDump(format: .plain(maxBytes: 256)))"])
            return .close(reason: "malformed \(header.apiKey) v\(header.apiVersion) request from client '\(header.clientID ?? "")': \(error)")
        } catch {
            context.logger.error("request failed", metadata: ["api": "\(header.apiKey)", "error": "\(error)"])
            return .close(reason: "internal error handling \(header.apiKey): \(error)")
        }
    }

    private func dispatch(header: RequestHeader, body: ByteBuffer, context: RequestContext) async throws -> RouterOutcome {
        let version = header.apiVersion
        switch header.apiKey {
        case .apiVersions:
            let request = try ApiVersionsRequest.decode(body, apiKey: .apiVersions, version: version)
            return respond(handlers.apiVersions(request), header)
        case .metadata:
            let request = try MetadataRequest.decode(body, apiKey: .metadata, version: version)
            return respond(await handlers.metadata(request, version: version), header)
        case .produce:
            let request = try ProduceRequest.decode(body, apiKey: .produce, version: version)
            let response = await handlers.produce(request, version: version, context: context)
            if request.acks == 0 {
                // acks=0 never gets a response; an error closes the connection instead (KafkaApis).
                if let failed = response.responses.lazy.flatMap(\.partitionResponses).first(where: { $0.errorCode != .none }) {
                    return .close(reason: "acks=0 produce failed with \(failed.errorCode)")
                }
                return .noResponse
            }
            return respond(response, header)
        case .fetch:
            let request = try FetchRequest.decode(body, apiKey: .fetch, version: version)
            return respond(await handlers.fetch(request, version: version), header)
        case .listOffsets:
            let request = try ListOffsetsRequest.decode(body, apiKey: .listOffsets, version: version)
            return respond(await handlers.listOffsets(request, version: version), header)
        case .createTopics:
            let request = try CreateTopicsRequest.decode(body, apiKey: .createTopics, version: version)
            return respond(await handlers.createTopics(request, version: version), header)
        case .deleteTopics:
            let request = try DeleteTopicsRequest.decode(body, apiKey: .deleteTopics, version: version)
            return respond(await handlers.deleteTopics(request, version: version), header)
        case .deleteRecords:
            let request = try DeleteRecordsRequest.decode(body, apiKey: .deleteRecords, version: version)
            return respond(await handlers.deleteRecords(request, version: version), header)
        case .offsetForLeaderEpoch:
            let request = try OffsetForLeaderEpochRequest.decode(body, apiKey: .offsetForLeaderEpoch, version: version)
            return respond(await handlers.offsetForLeaderEpoch(request, version: version), header)
        default:
            return .close(reason: "no handler for \(header.apiKey)")
        }
    }

    private func respond(_ body: some KafkaMessage, _ header: RequestHeader) -> RouterOutcome {
        .respond(Self.frame(body, apiKey: header.apiKey, version: header.apiVersion, correlationID: header.correlationID))
    }

    /// Size prefix, response header (v0 or v1 by API and version) and body.
    static func frame(_ body: some KafkaMessage, apiKey: ApiKey, version: Int16, correlationID: Int32) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeInteger(Int32(0))
        ResponseHeader(correlationID: correlationID).encode(to: &out, version: apiKey.responseHeaderVersion(version))
        var writer = KafkaWriter(buffer: out, flexible: apiKey.isFlexible(version))
        body.encode(to: &writer, version: version)
        out = writer.buffer
        out.setInteger(Int32(out.readableBytes - 4), at: out.readerIndex, endianness: .big)
        return out
    }
}
