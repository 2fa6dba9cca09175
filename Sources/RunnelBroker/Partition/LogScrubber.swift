import LogStorage
import Logging
import NIOPosix

extension Broker {
    /// The background scrubber (`runnel.log.scrub.bytes.per.second`): re-reads every closed
    /// segment of every partition hosted here, paced to the configured rate, and checks each batch
    /// as recovery does (``SegmentScrubber``). The active segment is left out: its tail is checked
    /// by recovery after a crash and its batches by the append path. Reading happens on
    /// `NIOThreadPool.singleton` through the scrubber's own file descriptors, so appends and
    /// fetches go on meanwhile; a segment deleted during its scan is simply skipped.
    ///
    /// A corrupt range goes to the partition (``Partition/corruptionFound(_:)``), which stops
    /// serving it and repairs what its role allows: a follower truncates and fetches it again, a
    /// leader with other in-sync replicas asks the controller to hand leadership over. Partitions in
    /// an offline log directory are skipped; a device error while reading takes the partition's
    /// directory offline (``LogDirectoryHealth/recordFailure(_:)``), the other directories go on.
    func runLogScrubber(_ controller: Controller, metrics: BrokerMetrics?) async {
        let rate = Int64(config.int("runnel.log.scrub.bytes.per.second"))
        guard rate > 0 else { return }
        let pause = Duration.milliseconds(config.int("runnel.log.scrub.interval.ms"))
        // Chunks of at most 1 MiB (or a tenth of a second's budget) keep each pause short.
        let chunk = Int(max(64 << 10, min(1 << 20, rate / 10)))
        let scrubLogger = controller.logger
        while !Task.isCancelled {
            var passBytes: Int64 = 0
            var found = 0
            let started = ContinuousClock.now
            for (tp, partition) in await controller.partitionsByName {
                // Each log directory on its own: an offline one is not read, a device fault met
                // here takes only the partition's own directory offline.
                let directory = await controller.logDirectory(of: tp)
                if directory?.isOffline == true { continue }
                for target in await partition.scrubTargets where directory?.isOffline != true {
                    var cursor = SegmentScrubber.Cursor(target: target)
                    scan: while !Task.isCancelled {
                        let from = cursor
                        let step: SegmentScrubber.Step
                        do {
                            step = try await NIOThreadPool.singleton.runIfActive {
                                try SegmentScrubber.verify(target, from: from, maxBytes: chunk)
                            }
                        } catch {
                            directory?.health.recordFailure(error)
                            scrubLogger.warning("scrubber could not read a segment", metadata: ["partition": "\(tp)", "segment": "\(target.path)",
                                                                                                 "error": "\(error)"])
                            break scan
                        }
                        let read: Int
                        switch step {
                        case .gone:
                            break scan
                        case .finished(let bytes):
                            read = bytes
                        case .progress(let next, let bytes):
                            read = bytes
                            cursor = next
                        case .corrupt(let corruption, let resume, let bytes):
                            read = bytes
                            if await repair(corruption, of: tp, partition: partition, controller: controller, logger: scrubLogger) {
                                found += 1
                                metrics?.corruptRanges.increment()
                            }
                            if let resume { cursor = resume }
                        }
                        passBytes += Int64(read)
                        metrics?.scrubBytes.increment(by: read)
                        // Pace: the time this chunk may take at the configured rate.
                        try? await Task.sleep(for: .nanoseconds(Int64(read) * 1_000_000_000 / rate))
                        switch step {
                        case .progress: continue scan
                        case .corrupt(_, let resume?, _) where resume.position < target.sizeBytes: continue scan
                        default: break scan
                        }
                    }
                }
            }
            if Task.isCancelled { return }
            scrubLogger.debug("scrub pass finished", metadata: ["bytes": "\(passBytes)", "corruptRanges": "\(found)",
                                                                "duration": "\(ContinuousClock.now - started)"])
            try? await Task.sleep(for: max(pause, .milliseconds(100)))
        }
    }

    /// Hands a corrupt range to its partition and acts on the answer; logs only what is news (a
    /// range stays in place, and is found again every pass, until it is truncated away).
    /// - Returns: whether the range was news.
    private func repair(_ corruption: LogCorruption, of tp: TopicPartition, partition: Partition, controller: Controller,
                        logger: Logger) async -> Bool {
        do {
            let (isNew, response) = try await partition.corruptionFound(corruption)
            let level: Logger.Level = isNew ? .warning : .debug
            if isNew {
                logger.error("scrubber found a corrupt range", metadata: [
                    "partition": "\(tp)", "offsets": "[\(corruption.offsets.lowerBound), \(corruption.offsets.upperBound))",
                    "segment": "\(corruption.segmentPath)", "position": "\(corruption.position)", "reason": "\(corruption.reason)",
                ])
            }
            switch response {
            case .none:
                break
            case .refetching(let from):
                logger.log(level: level, "follower truncated the corrupt range and fetches it again from its leader",
                           metadata: ["partition": "\(tp)", "logEndOffset": "\(from)"])
            case .stepDown(let request):
                guard let topicID = await controller.image.topics[tp.topic]?.topicID else { break }
                logger.log(level: level, "leader hands leadership to a healthy in-sync replica before fetching the range again",
                           metadata: ["partition": "\(tp)", "to": "\(request.newISR.sorted())"])
                controller.proposeStepDown(request, for: tp, topicID: topicID)
            case .servingAround:
                logger.log(level: isNew ? .error : .debug,
                           "no other in-sync replica holds the range: it stays unserved (reads inside it get KAFKA_STORAGE_ERROR)",
                           metadata: ["partition": "\(tp)"])
            }
            return isNew
        } catch {
            logger.error("repairing the corrupt range failed", metadata: ["partition": "\(tp)", "error": "\(error)"])
            return false
        }
    }
}
