import KafkaProtocol

extension Controller {
    /// The client quotas in force (KIP-546), as replayed from the metadata log.
    var clientQuotas: ClientQuotas { image.clientQuotas }

    /// Sets and removes client quota values (AlterClientQuotas, KIP-546).
    ///
    /// Each entry is checked on its own and succeeds or fails as a whole; an accepted entry's
    /// changes are written to the metadata log as `ClientQuotaRecord`s (one per key, in one
    /// append) before they apply, so quotas survive a restart.
    ///
    /// - Parameter validateOnly: check everything, change nothing.
    /// - Returns: one result per entry, in order: NONE, INVALID_REQUEST (an unknown, `ip` or
    ///   malformed entity, an unknown key, a key named twice, a value that is not positive or not
    ///   whole for a byte rate), or KAFKA_STORAGE_ERROR when the metadata log cannot be written.
    func alterClientQuotas(_ entries: [AlterClientQuotasRequest.Entry], validateOnly: Bool) async -> [AlterClientQuotasResponse.Entry] {
        var results: [AlterClientQuotasResponse.Entry] = []
        for entry in entries {
            do {
                try await serialized { try await alterClientQuota(entry, validateOnly: validateOnly) }
                results.append(.init(entity: entry.entity))
            } catch let error as ConfigChangeError {
                results.append(.init(errorCode: error.code, errorMessage: error.message, entity: entry.entity))
            } catch let error as ControllerWriteError {
                results.append(.init(errorCode: error.code, errorMessage: error.message, entity: entry.entity))
            } catch {
                results.append(.init(errorCode: .unknownServerError, errorMessage: "\(error)", entity: entry.entity))
            }
        }
        return results
    }

    /// Sets the hook told about the quotas in force after every change applied here (the broker's
    /// request path keeps its own copy, refreshed from committed `ClientQuotaRecord`s).
    func onClientQuotasChanged(_ hook: @escaping @Sendable (ClientQuotas) -> Void) { clientQuotasChanged = hook }

    private func alterClientQuota(_ entry: AlterClientQuotasRequest.Entry, validateOnly: Bool) async throws {
        let entity = try ClientQuotaEntity(components: entry.entity)
        var seen: Set<String> = []
        for op in entry.ops {
            guard seen.insert(op.key).inserted else {
                throw ConfigChangeError(code: .invalidRequest, message: "Duplicate quota key \(op.key) for entity \(entity)")
            }
            try ClientQuotas.validate(key: op.key, value: op.value, remove: op.remove)
        }
        let current = image.clientQuotas.values[entity] ?? [:]
        let records: [MetadataRecord] = entry.ops.compactMap { op in
            if op.remove ? current[op.key] == nil : current[op.key] == op.value { return nil }
            return .clientQuota(entity: entity.components, key: op.key, value: op.remove ? 0 : op.value, remove: op.remove)
        }
        if validateOnly || records.isEmpty { return }
        try await commit(records)
        let changes = entry.ops.map { $0.remove ? "\($0.key)=<removed>" : "\($0.key)=\($0.value)" }
        logger.info("client quotas altered", metadata: ["entity": "\(entity)", "changes": "\(changes.joined(separator: ", "))"])
    }
}
