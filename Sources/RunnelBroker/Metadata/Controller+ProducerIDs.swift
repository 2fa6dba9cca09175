import KafkaProtocol

extension Controller {
    /// Forgets, in every partition, idempotent producers idle for `expirationMs`.
    func removeExpiredProducers(nowMs: Int64, expirationMs: Int64) async {
        for partition in partitionsHosted { await partition.removeExpiredProducers(nowMs: nowMs, expirationMs: expirationMs) }
    }

    /// How many producer ids one `ProducerIdsRecord` reserves (Kafka's `ProducerIdsBlock` size).
    static let producerIDBlockSize: Int64 = 1000

    /// Hands out a new producer id (InitProducerId for an idempotent producer). Ids are reserved
    /// in blocks recorded in the metadata log before any of them is used, so no id is handed out
    /// twice, across brokers and restarts; a restart skips the rest of its block. In a cluster a
    /// broker asks the active controller for a block (AllocateProducerIds, KIP-730).
    /// - Throws: ``ControllerWriteError`` when no block can be reserved.
    func allocateProducerID() async throws -> Int64 {
        if producerIDBlock.isEmpty {
            producerIDBlock = try await nextProducerIDBlock()
        }
        let id = producerIDBlock.lowerBound
        producerIDBlock = (id + 1)..<producerIDBlock.upperBound
        return id
    }

    private func nextProducerIDBlock() async throws -> Range<Int64> {
        if await isActiveController {
            return try await reserveProducerIDBlock(brokerID: nodeID, brokerEpoch: brokerEpoch)
        }
        guard let channel = controllerChannel else {
            throw ControllerWriteError(code: .coordinatorNotAvailable, message: "no active controller is known")
        }
        let response = try await channel.send(AllocateProducerIdsRequest(brokerID: nodeID, brokerEpoch: brokerEpoch),
                                               version: 0)
        guard response.errorCode == .none, response.producerIDLen > 0 else {
            throw ControllerWriteError(code: response.errorCode == .none ? .unknownServerError : response.errorCode,
                                       message: "the active controller refused a producer id block")
        }
        return response.producerIDStart..<(response.producerIDStart + Int64(response.producerIDLen))
    }

    /// Active controller: records a new block of producer ids for `brokerID` (`ProducerIdsRecord`).
    /// - Throws: ``ControllerWriteError``.
    func reserveProducerIDBlock(brokerID: Int32, brokerEpoch: Int64) async throws -> Range<Int64> {
        try await serialized {
            let start = image.nextProducerID
            let record = MetadataRecord.producerIDs(brokerID: brokerID, brokerEpoch: max(0, brokerEpoch),
                                                    nextProducerID: start + Self.producerIDBlockSize)
            try await commit([record])
            return start..<(start + Self.producerIDBlockSize)
        }
    }
}
