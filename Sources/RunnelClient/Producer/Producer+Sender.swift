import KafkaProtocol
import NIOCore

extension EventLoopFuture where Value: Sendable {
    /// The future's value or error, awaited.
    func result() async -> Result<Value, any Error> {
        do { return .success(try await get()) } catch { return .failure(error) }
    }
}

extension Producer {
    /// One Produce request's worth of batches for one broker.
    struct ProduceRequestPlan: Sendable {
        var brokerID: Int32
        var batches: [ProducerBatch]
    }

    /// Takes every ready batch whose leader is known and whose partition and broker have room
    /// in flight, groups them into Produce requests per leader and starts sending them.
    func maybeSend() {
        guard !isClosed || flushing > 0 else { return }
        failExpired()
        if configuration.enableIdempotence {
            let epoch = idempotence.identity?.epoch
            switch idempotence.prepareToSend(anyInFlight: !inFlightByPartition.isEmpty) {
            case .send:
                if let epoch, let identity = idempotence.identity, identity.epoch != epoch {
                    logger.info("bumped producer epoch", metadata: ["producer.id": "\(identity.producerID)",
                                                                    "producer.epoch": "\(identity.epoch)"])
                }
            case .waitForInFlight:
                return  // the last response in flight calls maybeSend again
            case .initProducerID:
                startInitProducerID()
                return
            }
        }
        let now = ContinuousClock.now
        for (topic, recordedAt) in metadataRecordedAt where now - recordedAt >= configuration.client.metadataMaxAge {
            metadataRecordedAt[topic] = now  // one refresh at a time
            refreshMetadata(topic: topic)
        }
        let maxInFlight = configuration.maxInFlightRequestsPerConnection
        var plans: [Int32: [ProducerRequestPlanBuilder]] = [:]
        let (ready, nextReadyTime) = accumulator.readyPartitions(now: now, flushing: flushing > 0)
        for topicPartition in ready {
            guard let leader = leaders[topicPartition], leader >= 0 else {
                refreshMetadata(topic: topicPartition.topic)
                continue
            }
            // Requests are written in the order they are planned, on a connection that is ready,
            // so one partition's batches reach the broker in sequence order.
            guard let connection = connections[leader], connection.isActive else {
                connect(to: leader)
                continue
            }
            let partitionInFlight = inFlightByPartition[topicPartition, default: 0]
            // A retried batch goes alone, so the partition's sequence numbers reach the broker in order.
            if let head = accumulator.queues[topicPartition]?.first, head.attempts > 0, partitionInFlight > 0 { continue }
            guard partitionInFlight < maxInFlight else { continue }
            // The builders are changed in place in `plans`: a copy taken out and stored back made
            // every added batch copy the request's partition set (quadratic in the partitions
            // ready at once; most of the producer's CPU with 1,000 partitions).
            let builderCount = plans[leader]?.count ?? 0
            let inFlight = inFlightByBroker[leader, default: 0] + builderCount
            let headSize = accumulator.queues[topicPartition]?.first?.sizeBytes ?? 0
            if builderCount > 0,
               plans[leader]![builderCount - 1].fits(topicPartition, size: headSize, limit: configuration.maxRequestSizeBytes) {
                let batch = takeForSending(topicPartition)
                plans[leader]![builderCount - 1].add(batch)
            } else if inFlight < maxInFlight {
                var builder = ProducerRequestPlanBuilder(brokerID: leader)
                builder.add(takeForSending(topicPartition))
                plans[leader, default: []].append(builder)
            }
        }
        for builders in plans.values {
            for builder in builders where !builder.batches.isEmpty {
                inFlightByBroker[builder.brokerID, default: 0] += 1
                write(ProduceRequestPlan(brokerID: builder.brokerID, batches: builder.batches))
            }
        }
        // At most one wake-up per millisecond: with many partitions lingering, each wake-up
        // sends every batch that is ready by then.
        if let next = nextReadyTime { scheduleWake(at: max(next, now + .milliseconds(1))) }
    }

    /// Removes the head batch of a partition for sending, stamping producer id, epoch and sequence.
    private func takeForSending(_ topicPartition: TopicPartition) -> ProducerBatch {
        let batch = accumulator.takeHead(topicPartition)!
        if configuration.enableIdempotence { idempotence.stamp(batch) }
        inFlightByPartition[topicPartition, default: 0] += 1
        return batch
    }

    /// Writes one Produce request now and hands its outcome back to the actor when it arrives.
    private func write(_ plan: ProduceRequestPlan) {
        guard let connection = connections[plan.brokerID] else {
            requestFinished(plan, outcomes: plan.batches.map { _ in .failure(ClientError.connectionClosed(address: "broker \(plan.brokerID)")) })
            return
        }
        let acks = configuration.acks
        let request: ProduceRequest
        do {
            var topics: [String: [ProduceRequest.PartitionData]] = [:]
            for batch in plan.batches {
                topics[batch.topicPartition.topic, default: []].append(
                    .init(index: batch.topicPartition.partition, records: try batch.encoded(compression: configuration.compression)))
            }
            request = ProduceRequest(acks: acks.rawValue, timeoutMs: configuration.client.requestTimeout.milliseconds32,
                                     topicData: topics.map { .init(name: $0.key, partitionData: $0.value) })
        } catch {
            requestFinished(plan, outcomes: plan.batches.map { _ in .failure(error) })
            return
        }
        metrics.requests.increment()
        let previous = lastResponseTask[plan.brokerID]
        if acks == .none {
            let written = Result { try connection.writeWithoutResponse(request) }
            lastResponseTask[plan.brokerID] = Task {
                let outcome: Result<Void, any Error>
                switch written {
                case .success(let future): outcome = await future.result()
                case .failure(let error): outcome = .failure(error)
                }
                await previous?.value
                self.produceAnswered(plan, result: outcome.map { nil })
            }
            return
        }
        let future = Result { try connection.write(request) }
        lastResponseTask[plan.brokerID] = Task {
            let outcome: Result<ProduceResponse?, any Error>
            switch future {
            case .success(let future): outcome = await future.result().map { Optional($0) }
            case .failure(let error): outcome = .failure(error)
            }
            await previous?.value
            self.produceAnswered(plan, result: outcome)
        }
    }

    /// Maps a Produce response (`nil` for acks=0) or a request error to each batch's outcome.
    private func produceAnswered(_ plan: ProduceRequestPlan, result: Result<ProduceResponse?, any Error>) {
        switch result {
        case .success(nil):
            requestFinished(plan, outcomes: plan.batches.map { _ in .success(baseOffset: -1, logAppendTime: -1) })
        case .success(let response?):
            var byPartition: [TopicPartition: ProduceResponse.PartitionResponse] = [:]
            for topic in response.responses {
                for partition in topic.partitionResponses {
                    byPartition[TopicPartition(topic: topic.name, partition: partition.index)] = partition
                }
            }
            requestFinished(plan, outcomes: plan.batches.map { batch in
                guard let answer = byPartition[batch.topicPartition] else {
                    return .failure(ClientError.malformedResponse(api: "Produce", reason: "no answer for \(batch.topicPartition)"))
                }
                if answer.errorCode == .none || answer.errorCode == .duplicateSequenceNumber {
                    return .success(baseOffset: answer.errorCode == .none ? answer.baseOffset : -1,
                                    logAppendTime: answer.logAppendTimeMs)
                }
                return .failure(ClientError.broker(code: answer.errorCode, message: answer.errorMessage,
                                                   context: "Produce to \(batch.topicPartition)"))
            })
        case .failure(let error):
            if let connection = connections[plan.brokerID], !connection.isActive || Self.closesConnection(error) {
                connections[plan.brokerID] = nil
                Task { await connection.close() }
            }
            requestFinished(plan, outcomes: plan.batches.map { _ in .failure(error) })
        }
    }

    private static func closesConnection(_ error: any Error) -> Bool {
        switch error {
        case ClientError.requestTimedOut, ClientError.connectionClosed: return true
        default: return false
        }
    }

    /// Opens a connection to `brokerID` in the background, then tries to send again.
    func connect(to brokerID: Int32) {
        guard !connectingBrokers.contains(brokerID) else { return }
        connectingBrokers.insert(brokerID)
        Task {
            let connection: BrokerConnection?
            do {
                connection = try await core.connection(to: brokerID)
            } catch {
                logger.debug("connect failed", metadata: ["broker": "\(brokerID)", "error": "\(error)"])
                connection = nil
                // The pool's backoff already waited; refresh leadership in case the broker is gone.
                for topic in Set(accumulator.partitions.map(\.topic)) { refreshMetadata(topic: topic) }
                try? await Task.sleep(for: configuration.client.retryBackoff)
            }
            connectingBrokers.remove(brokerID)
            if let connection { connections[brokerID] = connection }
            maybeSend()
        }
    }

    func scheduleWake(at instant: ContinuousClock.Instant) {
        if let wakeAt, wakeAt <= instant, wakeAt > .now { return }
        wakeAt = instant
        Task {
            try? await Task.sleep(until: instant, clock: .continuous)
            self.wake(scheduledFor: instant)
        }
    }

    private func wake(scheduledFor instant: ContinuousClock.Instant) {
        if wakeAt == instant { wakeAt = nil }
        maybeSend()
    }

    func refreshMetadata(topic: String) {
        guard !refreshingTopics.contains(topic) else { return }
        refreshingTopics.insert(topic)
        Task {
            await core.invalidate(topic: topic)
            let metadata = try? await core.topic(topic)
            await self.metadataRefreshed(topic: topic, metadata: metadata)
        }
    }

    private func metadataRefreshed(topic: String, metadata: TopicMetadata?) async {
        refreshingTopics.remove(topic)
        if let metadata {
            record(metadata)
        } else {
            try? await Task.sleep(for: configuration.client.retryBackoff)
        }
        maybeSend()
    }
}

/// Collects batches for one Produce request up to `max.request.size`, one batch per partition.
struct ProducerRequestPlanBuilder {
    let brokerID: Int32
    private(set) var batches: [ProducerBatch] = []
    private var partitions: Set<TopicPartition> = []
    private var sizeBytes = 0

    init(brokerID: Int32) { self.brokerID = brokerID }

    func fits(_ topicPartition: TopicPartition, size: Int, limit: Int) -> Bool {
        sizeBytes + size <= limit && !partitions.contains(topicPartition)
    }

    mutating func add(_ batch: ProducerBatch) {
        batches.append(batch)
        partitions.insert(batch.topicPartition)
        sizeBytes += batch.sizeBytes
    }
}
