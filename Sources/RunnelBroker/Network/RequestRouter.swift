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
    /// Counts requests and their latency per API; nil in tests that do not look.
    var metrics: BrokerMetrics? = nil

    func handle(frame: ByteBuffer, context: RequestContext) async -> RouterOutcome {
        guard let prefix = RequestHeader.peekPrefix(frame) else {
            return .close(reason: "request frame of \(frame.readableBytes) bytes is shorter than a request header")
        }
        if prefix.apiKey == .apiVersions, let range = SupportedApis.ranges[.apiVersions], !range.contains(prefix.apiVersion) {
            // KIP-511: answer in v0 without parsing the body, listing ApiVersions' own range.
            let body = ApiVersionsResponse(errorCode: .unsupportedVersion, apiKeys: [
                .init(apiKey: ApiKey.apiVersions.rawValue, minVersion: range.lowerBound, maxVersion: range.upperBound),
            ])
            return .respond(ResponseBytes(Self.frame(body, apiKey: .apiVersions, version: 0, correlationID: prefix.correlationID)))
        }
        guard let range = SupportedApis.accepted(prefix.apiKey) else {
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
        let started = ContinuousClock.now
        defer { metrics?.recordRequest(api: header.apiKey, duration: ContinuousClock.now - started) }
        let timer = RequestTimer(onParked: context.onParked)
        do {
            let fromBroker = header.clientID?.hasPrefix(ControllerChannel.clientIDPrefix) == true
            let session = RequestSession(principal: context.principal, host: context.clientHost.hasPrefix("/") ? String(context.clientHost.dropFirst()) : context.clientHost)
            let outcome = try await RequestTimer.$current.withValue(timer) {
                try await ControllerChannel.$requestFromBroker.withValue(fromBroker) {
                    try await RequestSession.$current.withValue(session) {
                        if let refusal = refuseInterNode(header) { return refusal }
                        return try await dispatch(header: header, body: body, frameBytes: frame.readableBytes, context: context)
                    }
                }
            }
            return throttledForRequestTime(outcome, header: header, timer: timer, context: context)
        } catch let error as ProtocolError {
            context.logger.debug("malformed request bytes", metadata: ["hex": "\(frame.hexDump(format: .plain(maxBytes: 256)))"])
            return .close(reason: "malformed \(header.apiKey) v\(header.apiVersion) request from client '\(header.clientID ?? "")': \(error)")
        } catch {
            context.logger.error("request failed", metadata: ["api": "\(header.apiKey)", "error": "\(error)"])
            return .close(reason: "internal error handling \(header.apiKey): \(error)")
        }
    }

    private func dispatch(header: RequestHeader, body: ByteBuffer, frameBytes: Int, context: RequestContext) async throws -> RouterOutcome {
        let version = header.apiVersion
        switch header.apiKey {
        case .apiVersions:
            let request = try ApiVersionsRequest.decode(body, apiKey: .apiVersions, version: version)
            if let cached = SupportedApis.apiVersionsBodies[version] {
                return .respond(ResponseBytes(Self.frame(encodedBody: cached, apiKey: .apiVersions, version: version, correlationID: header.correlationID)))
            }
            return respond(handlers.apiVersions(request), header)
        case .metadata:
            return try await serve(MetadataRequest.self, body, header) { await handlers.metadata($0, version: $1, listener: context.listenerName) }
        case .produce:
            let request = try ProduceRequest.decode(body, apiKey: .produce, version: version)
            var response = await handlers.produce(request, version: version, context: context)
            let throttleMs = produceThrottleMs(header: header, frameBytes: frameBytes, context: context)
            if request.acks == 0 {
                // acks=0 never gets a response; an error closes the connection instead (KafkaApis).
                if let failed = response.responses.lazy.flatMap(\.partitionResponses).first(where: { $0.errorCode != .none }) {
                    return .close(reason: "acks=0 produce failed with \(failed.errorCode)")
                }
                // Over its quota, the connection is muted with nothing to send (Kafka does the same).
                return throttleMs > 0 ? .respondThrottled(ResponseBytes(parts: []), QuotaThrottle(time: .milliseconds(throttleMs), clientBacksOff: true))
                                      : .noResponse
            }
            response.throttleTimeMs = Int32(clamping: throttleMs)
            return throttled(respond(response, header), throttleMs: throttleMs, clientBacksOff: version >= 6)
        case .fetch:
            let request = try FetchRequest.decode(body, apiKey: .fetch, version: version)
            if QuorumWire.isQuorumFetch(request) {
                guard handlers.authorized(.clusterAction, .cluster) else {
                    return .close(reason: "metadata quorum Fetch from \(RequestSession.current.principal) refused: CLUSTER_ACTION on the cluster is not allowed")
                }
                return respond(await handlers.quorumFetch(request, version: version), header)
            }
            return fetchOutcome(request, response: await handlers.fetch(request, version: version, sendsFiles: context.sendsFiles),
                                header: header, context: context)
        case .vote:
            return try await serve(VoteRequest.self, body, header, handlers.vote)
        case .beginQuorumEpoch:
            return try await serve(BeginQuorumEpochRequest.self, body, header, handlers.beginQuorumEpoch)
        case .endQuorumEpoch:
            return try await serve(EndQuorumEpochRequest.self, body, header, handlers.endQuorumEpoch)
        case .fetchSnapshot:
            return try await serve(FetchSnapshotRequest.self, body, header, handlers.fetchSnapshot)
        case .brokerRegistration:
            return try await serve(BrokerRegistrationRequest.self, body, header, handlers.brokerRegistration)
        case .brokerHeartbeat:
            return try await serve(BrokerHeartbeatRequest.self, body, header, handlers.brokerHeartbeat)
        case .allocateProducerIds:
            return try await serve(AllocateProducerIdsRequest.self, body, header, handlers.allocateProducerIds)
        case .alterPartition:
            return try await serve(AlterPartitionRequest.self, body, header, handlers.controller.alterPartition)
        case .describeClientQuotas:
            return try await serve(DescribeClientQuotasRequest.self, body, header, handlers.describeClientQuotas)
        case .alterClientQuotas:
            return try await serve(AlterClientQuotasRequest.self, body, header, handlers.alterClientQuotas)
        case .listOffsets:
            return try await serve(ListOffsetsRequest.self, body, header, handlers.listOffsets)
        case .createTopics:
            return try await serve(CreateTopicsRequest.self, body, header, context, handlers.createTopics)
        case .deleteTopics:
            return try await serve(DeleteTopicsRequest.self, body, header, handlers.deleteTopics)
        case .deleteRecords:
            return try await serve(DeleteRecordsRequest.self, body, header, handlers.deleteRecords)
        case .offsetForLeaderEpoch:
            return try await serve(OffsetForLeaderEpochRequest.self, body, header, handlers.offsetForLeaderEpoch)
        case .describeConfigs:
            return try await serve(DescribeConfigsRequest.self, body, header, handlers.describeConfigs)
        case .alterConfigs:
            return try await serve(AlterConfigsRequest.self, body, header, handlers.alterConfigs)
        case .incrementalAlterConfigs:
            return try await serve(IncrementalAlterConfigsRequest.self, body, header, handlers.incrementalAlterConfigs)
        case .describeLogDirs:
            return try await serve(DescribeLogDirsRequest.self, body, header, handlers.describeLogDirs)
        case .createPartitions:
            return try await serve(CreatePartitionsRequest.self, body, header, handlers.createPartitions)
        case .electLeaders:
            return try await serve(ElectLeadersRequest.self, body, header, handlers.electLeaders)
        case .describeCluster:
            return try await serve(DescribeClusterRequest.self, body, header) {
                await handlers.describeCluster($0, version: $1, listener: context.listenerName)
            }
        case .initProducerID:
            return try await serve(InitProducerIDRequest.self, body, header, handlers.initProducerID)
        case .findCoordinator:
            return try await serve(FindCoordinatorRequest.self, body, header, context, handlers.findCoordinator)
        case .joinGroup:
            return try await serve(JoinGroupRequest.self, body, header, context, handlers.joinGroup)
        case .syncGroup:
            return try await serve(SyncGroupRequest.self, body, header, context, handlers.syncGroup)
        case .heartbeat:
            return try await serve(HeartbeatRequest.self, body, header, context, handlers.heartbeat)
        case .leaveGroup:
            return try await serve(LeaveGroupRequest.self, body, header, context, handlers.leaveGroup)
        case .offsetCommit:
            return try await serve(OffsetCommitRequest.self, body, header, context, handlers.offsetCommit)
        case .offsetFetch:
            return try await serve(OffsetFetchRequest.self, body, header, context, handlers.offsetFetch)
        case .offsetDelete:
            return try await serve(OffsetDeleteRequest.self, body, header, context, handlers.offsetDelete)
        case .describeGroups:
            return try await serve(DescribeGroupsRequest.self, body, header, context, handlers.describeGroups)
        case .listGroups:
            return try await serve(ListGroupsRequest.self, body, header, context, handlers.listGroups)
        case .deleteGroups:
            return try await serve(DeleteGroupsRequest.self, body, header, context, handlers.deleteGroups)
        case .describeAcls:
            return try await serve(DescribeAclsRequest.self, body, header, handlers.describeAcls)
        case .createAcls:
            return try await serve(CreateAclsRequest.self, body, header, handlers.createAcls)
        case .deleteAcls:
            return try await serve(DeleteAclsRequest.self, body, header, handlers.deleteAcls)
        case .describeUserScramCredentials:
            return try await serve(DescribeUserScramCredentialsRequest.self, body, header, handlers.describeUserScramCredentials)
        case .alterUserScramCredentials:
            return try await serve(AlterUserScramCredentialsRequest.self, body, header, handlers.alterUserScramCredentials)
        case .saslHandshake, .saslAuthenticate:
            return try illegalSaslState(header: header, body: body)
        default:
            return .close(reason: "no handler for \(header.apiKey)")
        }
    }

    /// Requests between the nodes of a cluster need CLUSTER_ACTION on the cluster (Kafka's
    /// `authorizeClusterOperation(request, CLUSTER_ACTION)` in the controller and broker APIs). A
    /// refused one closes its connection with the reason logged: no client sends these, and the
    /// refused peer (a node whose principal is not allowed) then logs the failure on its side.
    private func refuseInterNode(_ header: RequestHeader) -> RouterOutcome? {
        guard handlers.authorizer != nil, SupportedApis.interNodeRanges[header.apiKey] != nil,
              !handlers.authorized(.clusterAction, .cluster) else { return nil }
        return .close(reason: "\(header.apiKey) from \(RequestSession.current.principal) refused: CLUSTER_ACTION on the cluster is not allowed (add the principal to super.users or grant it CLUSTER_ACTION)")
    }

    /// SaslHandshake and SaslAuthenticate that reach the router come on a listener without SASL or
    /// after authentication: ILLEGAL_SASL_STATE, as Kafka's `KafkaApis` answers them.
    private func illegalSaslState(header: RequestHeader, body: ByteBuffer) throws -> RouterOutcome {
        if header.apiKey == .saslHandshake {
            _ = try SaslHandshakeRequest.decode(body, apiKey: .saslHandshake, version: header.apiVersion)
            return respond(SaslHandshakeResponse(errorCode: .illegalSaslState, mechanisms: []), header)
        }
        _ = try SaslAuthenticateRequest.decode(body, apiKey: .saslAuthenticate, version: header.apiVersion)
        return respond(SaslAuthenticateResponse(errorCode: .illegalSaslState,
                                                errorMessage: "SaslAuthenticate request received after successful authentication or on a listener without SASL"), header)
    }

    /// Decodes a `Request` body (the API key comes from the type, so it cannot disagree with the
    /// handler), runs `handler` and frames its response.
    private func serve<Request: KafkaRequest>(
        _ type: Request.Type, _ body: ByteBuffer, _ header: RequestHeader,
        _ handler: (Request, Int16) async -> Request.Response
    ) async throws -> RouterOutcome {
        let request = try Request.decode(body, apiKey: Request.apiKey, version: header.apiVersion)
        return respond(await handler(request, header.apiVersion), header)
    }

    /// As above, for handlers that need to know who sent the request.
    private func serve<Request: KafkaRequest>(
        _ type: Request.Type, _ body: ByteBuffer, _ header: RequestHeader, _ context: RequestContext,
        _ handler: (Request, ClientInfo) async -> Request.Response
    ) async throws -> RouterOutcome {
        let request = try Request.decode(body, apiKey: Request.apiKey, version: header.apiVersion)
        let client = ClientInfo(version: header.apiVersion, clientID: header.clientID ?? "", clientHost: context.clientHost,
                                listenerName: context.listenerName)
        return respond(await handler(request, client), header)
    }

    func respond(_ body: some KafkaMessage, _ header: RequestHeader) -> RouterOutcome {
        .respond(Self.frameParts(body, apiKey: header.apiKey, version: header.apiVersion, correlationID: header.correlationID,
                                 spliceBytesAtLeast: Self.spliceBytesAtLeast))
    }

    /// Byte fields (record sets) from this size on are sent from their own buffers rather than
    /// copied into the response: below it, a copy costs less than another buffer to gather.
    static let spliceBytesAtLeast = 8 * 1024

    /// Size prefix, response header (v0 or v1 by API and version) and a body encoded beforehand.
    static func frame(encodedBody body: ByteBuffer, apiKey: ApiKey, version: Int16, correlationID: Int32) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(body.readableBytes + 16)
        out.writeInteger(Int32(0))
        ResponseHeader(correlationID: correlationID).encode(to: &out, version: apiKey.responseHeaderVersion(version))
        out.writeImmutableBuffer(body)
        out.setInteger(Int32(out.readableBytes - 4), at: out.readerIndex, endianness: .big)
        return out
    }

    /// Size prefix, response header (v0 or v1 by API and version) and body.
    static func frame(_ body: some KafkaMessage, apiKey: ApiKey, version: Int16, correlationID: Int32) -> ByteBuffer {
        // Without splicing the encoding is one buffer (external records need a splicing writer).
        let parts = frameParts(body, apiKey: apiKey, version: version, correlationID: correlationID, spliceBytesAtLeast: nil).parts
        guard parts.count == 1, case .bytes(let buffer) = parts[0] else { preconditionFailure("an unspliced encoding has one part") }
        return buffer
    }

    /// As ``frame(_:apiKey:version:correlationID:)``, with byte fields of at least
    /// `spliceBytesAtLeast` bytes left in their own buffers (nil: none).
    static func frameParts(_ body: some KafkaMessage, apiKey: ApiKey, version: Int16, correlationID: Int32,
                           spliceBytesAtLeast: Int?) -> ResponseBytes {
        var out = ByteBuffer()
        out.writeInteger(Int32(0))
        ResponseHeader(correlationID: correlationID).encode(to: &out, version: apiKey.responseHeaderVersion(version))
        var writer = KafkaWriter(buffer: out, flexible: apiKey.isFlexible(version), spliceBytesAtLeast: spliceBytesAtLeast)
        body.encode(to: &writer, version: version)
        var bytes = ResponseBytes(parts: writer.finishedParts())
        guard case .bytes(var first) = bytes.parts[0] else { preconditionFailure("a frame starts with its size prefix") }
        first.setInteger(Int32(bytes.byteCount - 4), at: first.readerIndex, endianness: .big)
        bytes.parts[0] = .bytes(first)
        return bytes
    }
}
