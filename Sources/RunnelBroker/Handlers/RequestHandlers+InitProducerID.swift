import KafkaProtocol

extension RequestHandlers {
    /// InitProducerId v0-4 (KIP-98, KIP-360). Without a transactional id every call gets a new
    /// producer id with epoch 0, as Kafka's coordinator does: an idempotent producer that needs a
    /// fresh epoch bumps it itself. Transactions are not supported: a transactional id gets
    /// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients report at once instead of retrying.
    func initProducerID(_ request: InitProducerIDRequest, version: Int16) async -> InitProducerIDResponse {
        guard request.transactionalID != nil || authorizedForIdempotentWrite() else {
            // KIP-679: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
            return InitProducerIDResponse(errorCode: .clusterAuthorizationFailed)
        }
        guard request.transactionalID == nil else {
            logger.info("refused a transactional producer: transactions are not supported",
                        metadata: ["transactional.id": "\(request.transactionalID ?? "")"])
            return InitProducerIDResponse(errorCode: .transactionalIDAuthorizationFailed)
        }
        do {
            return InitProducerIDResponse(producerID: try await controller.allocateProducerID(), producerEpoch: 0)
        } catch {
            logger.error("allocating a producer id failed", metadata: ["error": "\(error)"])
            return InitProducerIDResponse(errorCode: .coordinatorNotAvailable)  // retriable for every client
        }
    }
}
