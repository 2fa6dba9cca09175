import KafkaProtocol

extension Producer {
    typealias BatchOutcome = DeliveryQueue.Outcome

    /// Applies a Produce request's outcome: completes, retries or fails each batch.
    func requestFinished(_ plan: ProduceRequestPlan, outcomes: [BatchOutcome]) {
        inFlightByBroker[plan.brokerID, default: 1] -= 1
        if inFlightByBroker[plan.brokerID] == 0 { inFlightByBroker[plan.brokerID] = nil }
        for (batch, outcome) in zip(plan.batches, outcomes) {
            let tp = batch.topicPartition
            inFlightByPartition[tp, default: 1] -= 1
            if inFlightByPartition[tp] == 0 { inFlightByPartition[tp] = nil }
            switch outcome {
            case .success(let baseOffset, let logAppendTime):
                releaseMemory(batch.memoryBytes)
                metrics.batches.increment()
                accumulator.recycle(batch.takeStorage())
                report(batch, .success(baseOffset: baseOffset, logAppendTime: logAppendTime))
            case .failure(let error):
                handleFailure(batch, error: error)
            }
        }
        maybeSend()
        resumeFlushWaitersIfIdle()
    }

    private func handleFailure(_ batch: ProducerBatch, error: any Error) {
        let code: ErrorCode? = if case ClientError.broker(let code, _, _) = error { code } else { nil }
        var retriable = (error as? ClientError)?.isRetriable ?? false
        if code == .messageTooLarge, batch.count > 1 {
            // The topic's max.message.bytes is below batch.size: send the records in smaller
            // batches that keep the sequence range, in order (the Java client's split).
            let parts = batch.split()
            logger.debug("splitting a batch the broker found too large",
                         metadata: ["partition": "\(batch.topicPartition)", "records": "\(batch.count)"])
            for part in parts { accumulator.reenqueue(part) }
            return
        }
        if let code {
            if code.invalidatesMetadata { refreshMetadata(topic: batch.topicPartition.topic) }
            switch code {
            case .outOfOrderSequenceNumber, .unknownProducerID, .invalidProducerEpoch:
                // Responses are applied in send order, so an earlier batch of the partition that
                // failed is back in the queue by now.
                let earlierPending = accumulator.queues[batch.topicPartition]?.contains { $0.precedes(batch) } ?? false
                idempotence.sequenceRejected(batch, earlierBatchPending: earlierPending)
                retriable = true
            default:
                break
            }
        } else if retriable {
            refreshMetadata(topic: batch.topicPartition.topic)
        }
        let now = ContinuousClock.now
        if retriable, now < batch.deadline, !isClosed {
            let retry = batch
            retry.attempts += 1
            retry.retryAt = now + configuration.client.retryBackoff
            metrics.retries.increment()
            logger.debug("retrying batch", metadata: ["partition": "\(batch.topicPartition)", "error": "\(error)",
                                                     "attempt": "\(retry.attempts)"])
            accumulator.reenqueue(retry)
            scheduleWake(at: retry.retryAt!)
            return
        }
        let final: any Error = retriable
            ? ClientError.deliveryTimedOut(topic: batch.topicPartition.topic, partition: batch.topicPartition.partition,
                                           timeout: configuration.deliveryTimeout)
            : error
        failForGood(batch, error: final)
    }

    private func failForGood(_ batch: ProducerBatch, error: any Error) {
        metrics.errors.increment()
        logger.warning("record delivery failed", metadata: ["partition": "\(batch.topicPartition)", "error": "\(error)"])
        // The batch's sequence numbers are now a gap the broker would reject (KIP-360).
        if configuration.enableIdempotence { idempotence.failedForGood(batch) }
        releaseMemory(batch.memoryBytes)
        report(batch, .failure(error))
    }

    /// Hands a finished batch to the delivery queue, which calls its handlers off the actor.
    func report(_ batch: ProducerBatch, _ outcome: DeliveryQueue.Outcome) {
        unreportedBatches += 1
        if deliveryQueue == nil {
            deliveryQueue = DeliveryQueue { [weak self] in await self?.batchReported() }
        }
        deliveryQueue!.report(batch, outcome)
    }

    /// Called by the delivery queue after a batch's handlers ran.
    func batchReported() {
        unreportedBatches -= 1
        resumeFlushWaitersIfIdle()
    }

    /// Fails queued batches whose `delivery.timeout.ms` has passed.
    func failExpired() {
        for batch in accumulator.removeExpired(now: .now) {
            failForGood(batch, error: ClientError.deliveryTimedOut(topic: batch.topicPartition.topic,
                                                                   partition: batch.topicPartition.partition,
                                                                   timeout: configuration.deliveryTimeout))
        }
        resumeFlushWaitersIfIdle()
    }

    func resumeFlushWaitersIfIdle() {
        guard accumulator.isEmpty, inFlightByPartition.isEmpty, unreportedBatches == 0, !flushWaiters.isEmpty else { return }
        let waiters = flushWaiters
        flushWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// Gets a producer id and epoch (InitProducerId without a transactional id), retrying
    /// retriable errors; idempotence is turned off if the broker refuses for good.
    func startInitProducerID() {
        guard !initializingProducerID else { return }
        initializingProducerID = true
        Task {
            var delay = configuration.client.retryBackoff
            while true {
                do {
                    let connection = try await core.anyConnection()
                    let response = try await connection.send(
                        InitProducerIDRequest(transactionalID: nil, transactionTimeoutMs: Int32.max))
                    if response.errorCode == .none {
                        self.producerIDAssigned(id: response.producerID, epoch: response.producerEpoch)
                        return
                    }
                    if !response.errorCode.isRetriable {
                        self.producerIDRefused(ClientError.broker(code: response.errorCode, message: nil,
                                                                        context: "InitProducerId"))
                        return
                    }
                } catch ClientError.unsupportedVersion(let api, let address) {
                    self.producerIDRefused(ClientError.unsupportedVersion(api: api, address: address))
                    return
                } catch {
                    logger.debug("InitProducerId failed, retrying", metadata: ["error": "\(error)"])
                }
                if self.isClosed { return }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.client.reconnectBackoffMax)
            }
        }
    }

    private func producerIDAssigned(id: Int64, epoch: Int16) {
        initializingProducerID = false
        idempotence.assign(producerID: id, epoch: epoch)
        logger.debug("producer id assigned", metadata: ["producer.id": "\(id)", "producer.epoch": "\(epoch)"])
        maybeSend()
    }

    private func producerIDRefused(_ error: ClientError) {
        initializingProducerID = false
        logger.error("idempotence unavailable: queued records fail", metadata: ["error": "\(error)"])
        for batch in accumulator.removeAll() {
            releaseMemory(batch.memoryBytes)
            report(batch, .failure(error))
        }
        resumeFlushWaitersIfIdle()
    }
}
