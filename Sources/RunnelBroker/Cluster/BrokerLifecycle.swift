import Foundation
import KafkaProtocol
import Logging

extension Controller {
    /// The broker role's half of KIP-631 until cancelled: register with the active controller, then
    /// heartbeat every `broker.heartbeat.interval.ms` with the metadata offset applied here and the
    /// log directories that are offline (`offline_log_dirs`, KIP-858; registration names every
    /// directory's id in `log_dirs`);
    /// register again when the controller no longer knows this broker's epoch.
    func runBrokerLifecycle(listeners: [Listener]) async {
        guard let channel = controllerChannel, let quorum, cluster?.isBroker == true else { return }
        let incarnation = UUIDBytes.random()
        let interval = Duration.milliseconds(config.int("broker.heartbeat.interval.ms"))
        let registration = BrokerRegistrationRequest(
            brokerID: nodeID, clusterID: clusterID, incarnationID: incarnation,
            listeners: listeners.map { .init(name: $0.name, host: $0.host, port: UInt16($0.port), securityProtocol: $0.security.id) },
            features: [.init(name: "metadata.version", minSupportedVersion: 1, maxSupportedVersion: 21)],
            logDirs: logDirectories.map(\.directoryID))
        var registered = false
        // While fenced, heartbeat often: the controller unfences on the first heartbeat showing
        // that this broker applied its own registration.
        var fenced = true
        var strayCheckDone = false
        var refusals = 0
        while !Task.isCancelled {
            do {
                if !registered {
                    let response = try await channel.send(registration, version: 2)
                    guard response.errorCode == .none else {
                        refusals += 1
                        if refusals == 1 || refusals % 50 == 0 {
                            if response.errorCode == .duplicateBrokerRegistration {
                                controllerLogger.error("broker registration refused: another running broker has node.id \(nodeID), or this broker restarted within broker.session.timeout.ms of a crash; give each broker its own node.id (retrying)",
                                             metadata: ["error": "\(response.errorCode)", "attempts": "\(refusals)"])
                            } else {
                                controllerLogger.warning("broker registration refused", metadata: ["error": "\(response.errorCode)", "attempts": "\(refusals)"])
                            }
                        }
                        try await Task.sleep(for: interval)
                        continue
                    }
                    brokerEpoch = response.brokerEpoch
                    registered = true
                    refusals = 0
                    controllerLogger.info("registered with the active controller", metadata: ["broker.epoch": "\(response.brokerEpoch)"])
                }
                let applied = await quorum.appliedOffset
                let response = try await channel.send(
                    BrokerHeartbeatRequest(brokerID: nodeID, brokerEpoch: brokerEpoch, currentMetadataOffset: applied,
                                           wantFence: false, wantShutDown: false, offlineLogDirs: offlineDirectoryIDs),
                    version: 1, timeout: interval * 2)
                switch response.errorCode {
                case .none:
                    if fenced != response.isFenced {
                        controllerLogger.info(response.isFenced ? "fenced by the active controller" : "unfenced: serving as a live broker")
                        if !response.isFenced, !strayCheckDone {
                            strayCheckDone = true
                            removeStrayPartitions()
                            if !clientGate.isOpen {
                                clientGate.open()
                                controllerLogger.info("serving clients: caught up with the metadata log", metadata: ["applied.offset": "\(applied)"])
                            }
                        }
                    }
                    fenced = response.isFenced
                case .staleBrokerEpoch, .brokerIDNotRegistered:
                    controllerLogger.info("the active controller does not know this broker's epoch: registering again",
                                metadata: ["error": "\(response.errorCode)"])
                    registered = false
                    fenced = true
                    continue
                default:
                    controllerLogger.debug("heartbeat refused", metadata: ["error": "\(response.errorCode)"])
                }
            } catch is CancellationError {
                return
            } catch {
                controllerLogger.debug("no active controller answered", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: fenced ? min(interval, .milliseconds(100)) : interval)
        }
    }

    /// Controlled shutdown (KIP-631): asks the active controller to fence this broker, so clients
    /// stop being sent here before it stops; bounded by `timeout`.
    func requestControlledShutdown(timeout: Duration) async {
        guard let channel = controllerChannel, cluster?.isBroker == true, brokerEpoch >= 0, let quorum else { return }
        let applied = await quorum.appliedOffset
        if await isActiveController {
            // This node is the active controller: fence itself directly (its listeners are
            // closing, so a request to itself could not be answered).
            let response = await brokerHeartbeat(BrokerHeartbeatRequest(brokerID: nodeID, brokerEpoch: brokerEpoch,
                                                                        currentMetadataOffset: applied, wantFence: false, wantShutDown: true,
                                       offlineLogDirs: offlineDirectoryIDs))
            controllerLogger.info("controlled shutdown of the active controller's broker", metadata: ["error": "\(response.errorCode)"])
            return
        }
        do {
            let response = try await channel.send(
                BrokerHeartbeatRequest(brokerID: nodeID, brokerEpoch: brokerEpoch, currentMetadataOffset: applied,
                                       wantFence: false, wantShutDown: true,
                                       offlineLogDirs: offlineDirectoryIDs), version: 1, timeout: timeout)
            controllerLogger.info("controlled shutdown", metadata: ["error": "\(response.errorCode)", "should.shut.down": "\(response.shouldShutDown)"])
        } catch {
            controllerLogger.warning("controlled shutdown got no answer from the active controller", metadata: ["error": "\(error)"])
        }
    }

    /// The active controller's periodic duties until cancelled: fence brokers whose session expired,
    /// and every `leader.imbalance.check.interval.seconds` give leadership back to preferred
    /// replicas (`auto.leader.rebalance.enable`).
    func runControllerDuties() async {
        guard cluster?.isController == true else { return }
        let rebalanceEvery = Duration.seconds(max(1, config.int("leader.imbalance.check.interval.seconds")))
        let rebalance = config.bool("auto.leader.rebalance.enable")
        let clock = ContinuousClock()
        var nextRebalance = clock.now + rebalanceEvery
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            await fenceExpiredBrokers()
            if rebalance, clock.now >= nextRebalance {
                await rebalanceLeaders()
                nextRebalance = clock.now + rebalanceEvery
            }
        }
    }
}
