@testable import Raft

/// A failed seed: enough to understand it, and the command that replays it.
struct SimulationFailure: Error, CustomStringConvertible {
    var seed: UInt64
    var tick: Int
    var violation: InvariantViolation
    var parameters: SimulationParameters
    var trace: [String]

    var description: String {
        """
        RAFT SIMULATION FAILURE seed=\(seed) tick=\(tick) invariant=\(violation.invariant.rawValue)
          \(violation.detail)
          parameters: \(parameters)
          replay: RAFT_SIM_SEED=\(seed) swift test --scratch-path .build-raft --filter RaftTests.SimulationTests
          trace tail (last \(trace.count) events):
        \(trace.map { "    " + $0 }.joined(separator: "\n"))
        """
    }
}

struct SimulationStats {
    var ticks = 0
    var messagesSent = 0
    var epochsWithLeader = 0
    var committedEntries = 0
    var recoveryTicks = 0
    var crashes = 0
    var snapshotsInstalled = 0
}

/// One line per message, for trace tails.
func describe(_ message: RaftMessage<UInt64>) -> String {
    switch message {
    case .vote(let request):
        "\(request.preVote ? "PreVote" : "Vote") epoch=\(request.epoch) last=\(request.lastEndOffsetAndEpoch)"
    case .voteResponse(let response):
        "\(response.preVote ? "PreVote" : "Vote")Response epoch=\(response.epoch) granted=\(response.voteGranted) leader=\(response.leaderID.map(String.init(describing:)) ?? "-")\(response.error.map { " error=\($0)" } ?? "")"
    case .beginQuorumEpoch(let request):
        "BeginQuorumEpoch epoch=\(request.epoch)"
    case .beginQuorumEpochResponse(let response):
        "BeginQuorumEpochResponse epoch=\(response.epoch) leader=\(response.leaderID.map(String.init(describing:)) ?? "-")\(response.error.map { " error=\($0)" } ?? "")"
    case .endQuorumEpoch(let request):
        "EndQuorumEpoch epoch=\(request.epoch) successors=\(request.preferredSuccessors)"
    case .endQuorumEpochResponse(let response):
        "EndQuorumEpochResponse epoch=\(response.epoch)\(response.error.map { " error=\($0)" } ?? "")"
    case .fetch(let request):
        "Fetch epoch=\(request.epoch) offset=\(request.fetchOffset) lastEpoch=\(request.lastFetchedEpoch) hw=\(request.highWatermark.map(String.init(describing:)) ?? "-") id=\(request.requestID)"
    case .fetchResponse(let response):
        "FetchResponse epoch=\(response.epoch) leader=\(response.leaderID.map(String.init(describing:)) ?? "-") hw=\(response.highWatermark.map(String.init(describing:)) ?? "-") id=\(response.requestID) " + {
            if let error = response.error { return "error=\(error)" }
            switch response.result {
            case .entries(let entries): return "entries=\(entries.count)@\(response.fetchOffset)"
            case .divergingEpoch(let end): return "diverging=\(end)"
            case .snapshot(let id): return "snapshot=\(id)"
            }
        }()
    case .fetchSnapshot(let request):
        "FetchSnapshot epoch=\(request.epoch) id=\(request.snapshotID)"
    case .fetchSnapshotResponse(let response):
        "FetchSnapshotResponse epoch=\(response.epoch) snapshot=\(response.snapshot.map { "\($0.id)" } ?? "-")\(response.error.map { " error=\($0)" } ?? "")"
    }
}
