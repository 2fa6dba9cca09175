import KafkaProtocol
import NIOCore
@testable import RunnelBroker
import Synchronization
import Testing

/// Waits that are not the broker's work are parked (``RequestTimer/parked(_:)``), so they count
/// neither in a `request_percentage` quota nor in the client address's fair share (issue 11):
/// a produce waiting for the group commit's fsync (`runnel.log.flush.on.ack`) and a
/// FindCoordinator waiting for `__consumer_offsets` to be created.
struct ParkedWaitsTests {
    /// Runs `body` under a request timer and returns what its `onParked` was told, in order.
    static func parkEvents(_ body: () async -> Void) async -> [Bool] {
        let events = Mutex<[Bool]>([])
        let timer = RequestTimer(onParked: { parked in events.withLock { $0.append(parked) } })
        await RequestTimer.$current.withValue(timer) { await body() }
        return events.withLock { $0 }
    }

    @Test func aProduceWaitingForItsFsyncIsParked() async throws {
        try await LogDirectoryFailureTests.withHandlers([("runnel.log.flush.on.ack", "true")]) { handlers, _ in
            var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
            builder.append(key: nil, value: ByteBuffer(string: "durable"))
            // acks=1: no wait for followers, so the only parked wait is the fsync's.
            let request = ProduceRequest(acks: 1, timeoutMs: 1000, topicData: [.init(name: "t", partitionData: [.init(index: 0, records: builder.build())])])
            var code = ErrorCode.unknownServerError
            let events = await Self.parkEvents {
                code = await handlers.produce(request, version: 9, context: LogDirectoryFailureTests.context).responses[0].partitionResponses[0].errorCode
            }
            #expect(code == .none)
            #expect(events == [true, false])
        }
    }

    @Test func aProduceWithoutFlushOnAckParksNothing() async throws {
        try await LogDirectoryFailureTests.withHandlers { handlers, _ in
            var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
            builder.append(key: nil, value: ByteBuffer(string: "plain"))
            let request = ProduceRequest(acks: 1, timeoutMs: 1000, topicData: [.init(name: "t", partitionData: [.init(index: 0, records: builder.build())])])
            let events = await Self.parkEvents { _ = await handlers.produce(request, version: 9, context: LogDirectoryFailureTests.context) }
            #expect(events.isEmpty)
        }
    }

    @Test func findCoordinatorWaitingForTheOffsetsTopicIsParked() async throws {
        try await withTemporaryDirectory { dir in
            let node = try await GroupHandlerTests.start(dir)
            var response: FindCoordinatorResponse?
            let events = await Self.parkEvents {
                response = await node.handlers.findCoordinator(FindCoordinatorRequest(key: "g", keyType: 0), client: GroupHandlerTests.client(1))
            }
            #expect(response?.errorCode == ErrorCode.none)
            #expect(events.first == true && events.last == false && events.count % 2 == 0)
            await node.controller.shutdown()
        }
    }
}
