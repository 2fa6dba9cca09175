// libFuzzer entry point over the broker's input path, compiled by scripts/fuzz.sh together with
// Sources/KafkaProtocol, the broker's FrameDecoder and SupportedApis (not a SwiftPM target:
// `-sanitize=fuzzer` needs its own build).
//
// The first input byte picks what the rest is, modulo 3:
//   0: a connection's byte stream: FrameDecoder splits it, each frame goes through mode 1;
//   1: one request frame without its size (header + body, as Tests/KafkaProtocolTests/Fixtures
//      stores them): the header is decoded, the body by the decoder of its API key and version
//      when the broker accepts that version (SupportedApis), re-encoded, and a Produce request's
//      record sets go through mode 2;
//   2: a record set: the produce validator, the record reader (decompressing), the legacy
//      message-set reader and the batch header peeks.
// Thrown errors are the expected outcome of bad input; only traps and sanitizer reports are bugs.

import KafkaProtocol
import NIOCore

/// Enough for the seeds and their mutations; larger frames are refused by the size check anyway.
private let maxFrameBytes = 1 << 20
/// Decompressed bytes allowed per record set (the broker's bound is message.max.bytes-derived).
private let maxUncompressedBytes = 4 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 3 {
    case 0: fuzzStream(input)
    case 1: fuzzFrame(input)
    default: fuzzRecords(input)
    }
    return 0
}

/// Splits the stream into frames, then checks that feeding it in pieces (as TCP delivers it; the
/// piece size comes from the first byte) yields the same frames, as swift-nio's
/// ByteToMessageDecoderVerifier does for one-byte and whole deliveries.
private func fuzzStream(_ input: ByteBuffer) {
    var stream = input
    var frames: [ByteBuffer] = []
    while let frame = try? FrameDecoder.nextFrame(from: &stream, maxFrameBytes: maxFrameBytes) {
        frames.append(frame)
        fuzzFrame(frame)
    }
    let piece = 1 + Int(input.getInteger(at: input.readerIndex, as: UInt8.self) ?? 0) % 7
    var pending = ByteBuffer()
    var remaining = input
    var pieced: [ByteBuffer] = []
    var failed = false
    while remaining.readableBytes > 0, !failed {
        var chunk = remaining.readSlice(length: min(piece, remaining.readableBytes))!
        pending.writeBuffer(&chunk)
        while true {
            do {
                guard let frame = try FrameDecoder.nextFrame(from: &pending, maxFrameBytes: maxFrameBytes) else { break }
                pieced.append(frame)
            } catch {
                failed = true
                break
            }
        }
    }
    if pieced != frames { fatalError("FrameDecoder: \(pieced.count) frames fed in \(piece)-byte pieces, \(frames.count) fed whole") }
}

private func fuzzFrame(_ frame: ByteBuffer) {
    var body = frame
    guard let header = try? RequestHeader.decode(from: &body) else { return }
    guard let accepted = SupportedApis.accepted(header.apiKey), accepted.contains(header.apiVersion) else { return }
    decodeBody(apiKey: header.apiKey, version: header.apiVersion, body: body)
}

/// Decodes, re-encodes and decodes again: what the broker decoded must survive its own encoder
/// unchanged (a field read in a version but written differently is a codec bug).
private func roundTrip<Message: KafkaRequest & Equatable>(_ type: Message.Type, _ body: ByteBuffer, _ version: Int16) -> Message? {
    guard let message = try? Message.decode(body, apiKey: Message.apiKey, version: version) else { return nil }
    let encoded = message.encoded(apiKey: Message.apiKey, version: version)
    let again: Message
    do {
        again = try Message.decode(encoded, apiKey: Message.apiKey, version: version)
    } catch {
        fatalError("\(Message.self) v\(version): re-encoded request does not decode: \(error)")
    }
    if again != message { fatalError("\(Message.self) v\(version): decode(encode(request)) differs from request") }
    return message
}

private func decodeBody(apiKey: ApiKey, version: Int16, body: ByteBuffer) {
    switch apiKey {
    case .produce:
        guard let request = roundTrip(ProduceRequest.self, body, version) else { return }
        for topic in request.topicData {
            for partition in topic.partitionData {
                if let records = partition.records { fuzzRecords(records) }
            }
        }
    case .fetch: _ = roundTrip(FetchRequest.self, body, version)
    case .listOffsets: _ = roundTrip(ListOffsetsRequest.self, body, version)
    case .metadata: _ = roundTrip(MetadataRequest.self, body, version)
    case .apiVersions: _ = roundTrip(ApiVersionsRequest.self, body, version)
    case .createTopics: _ = roundTrip(CreateTopicsRequest.self, body, version)
    case .deleteTopics: _ = roundTrip(DeleteTopicsRequest.self, body, version)
    case .deleteRecords: _ = roundTrip(DeleteRecordsRequest.self, body, version)
    case .offsetForLeaderEpoch: _ = roundTrip(OffsetForLeaderEpochRequest.self, body, version)
    case .initProducerID: _ = roundTrip(InitProducerIDRequest.self, body, version)
    case .createPartitions: _ = roundTrip(CreatePartitionsRequest.self, body, version)
    case .describeConfigs: _ = roundTrip(DescribeConfigsRequest.self, body, version)
    case .alterConfigs: _ = roundTrip(AlterConfigsRequest.self, body, version)
    case .incrementalAlterConfigs: _ = roundTrip(IncrementalAlterConfigsRequest.self, body, version)
    case .describeLogDirs: _ = roundTrip(DescribeLogDirsRequest.self, body, version)
    case .describeCluster: _ = roundTrip(DescribeClusterRequest.self, body, version)
    case .offsetCommit: _ = roundTrip(OffsetCommitRequest.self, body, version)
    case .offsetFetch: _ = roundTrip(OffsetFetchRequest.self, body, version)
    case .findCoordinator: _ = roundTrip(FindCoordinatorRequest.self, body, version)
    case .joinGroup: _ = roundTrip(JoinGroupRequest.self, body, version)
    case .heartbeat: _ = roundTrip(HeartbeatRequest.self, body, version)
    case .leaveGroup: _ = roundTrip(LeaveGroupRequest.self, body, version)
    case .syncGroup: _ = roundTrip(SyncGroupRequest.self, body, version)
    case .describeGroups: _ = roundTrip(DescribeGroupsRequest.self, body, version)
    case .listGroups: _ = roundTrip(ListGroupsRequest.self, body, version)
    case .deleteGroups: _ = roundTrip(DeleteGroupsRequest.self, body, version)
    case .offsetDelete: _ = roundTrip(OffsetDeleteRequest.self, body, version)
    case .describeClientQuotas: _ = roundTrip(DescribeClientQuotasRequest.self, body, version)
    case .alterClientQuotas: _ = roundTrip(AlterClientQuotasRequest.self, body, version)
    case .vote: _ = roundTrip(VoteRequest.self, body, version)
    case .beginQuorumEpoch: _ = roundTrip(BeginQuorumEpochRequest.self, body, version)
    case .endQuorumEpoch: _ = roundTrip(EndQuorumEpochRequest.self, body, version)
    case .fetchSnapshot: _ = roundTrip(FetchSnapshotRequest.self, body, version)
    case .brokerRegistration: _ = roundTrip(BrokerRegistrationRequest.self, body, version)
    case .brokerHeartbeat: _ = roundTrip(BrokerHeartbeatRequest.self, body, version)
    case .allocateProducerIds: _ = roundTrip(AllocateProducerIdsRequest.self, body, version)
    case .alterPartition: _ = roundTrip(AlterPartitionRequest.self, body, version)
    case .saslHandshake: _ = roundTrip(SaslHandshakeRequest.self, body, version)
    case .saslAuthenticate: _ = roundTrip(SaslAuthenticateRequest.self, body, version)
    case .describeAcls: _ = roundTrip(DescribeAclsRequest.self, body, version)
    case .createAcls: _ = roundTrip(CreateAclsRequest.self, body, version)
    case .deleteAcls: _ = roundTrip(DeleteAclsRequest.self, body, version)
    case .describeUserScramCredentials: _ = roundTrip(DescribeUserScramCredentialsRequest.self, body, version)
    case .alterUserScramCredentials: _ = roundTrip(AlterUserScramCredentialsRequest.self, body, version)
    case .electLeaders: _ = roundTrip(ElectLeadersRequest.self, body, version)
    default: break
    }
}

private func fuzzRecords(_ records: ByteBuffer) {
    _ = RecordBatchHeader.peek(records, at: records.readerIndex)
    if let header = try? RecordBatchValidator.validateProduced(records, maxBatchBytes: maxFrameBytes) {
        _ = RecordBatchHeader.crcMatches(records, at: records.readerIndex, header: header)
        _ = try? RecordBatchHeader.records(of: records, maxUncompressedBytes: maxUncompressedBytes)
    }
    _ = try? RecordBatchHeader.records(of: records, maxUncompressedBytes: maxUncompressedBytes)
    if let legacy = try? LegacyMessageSet.decode(records, maxUncompressedBytes: maxUncompressedBytes) {
        _ = try? LegacyMessageSet.upConverted(legacy)
    }
}
