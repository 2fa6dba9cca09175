import KafkaProtocol

extension MetadataRecord {
    /// Whether applying this record changes the ACLs in force.
    var changesAcls: Bool {
        switch self {
        case .accessControlEntry, .removeAccessControlEntry: true
        default: false
        }
    }
}

extension Controller {
    /// Sets the hook told about the ACLs in force after every change applied here (the broker's
    /// ``Authorizer`` keeps its own copy, refreshed from committed ACL records).
    func onAclsChanged(_ hook: @escaping @Sendable ([AclBinding]) -> Void) { aclsChanged = hook }

    /// The ACLs in force, as replayed from the metadata log.
    var acls: [AclBinding] { Array(image.acls.values) }

    /// Adds ACLs (CreateAcls, KIP-140), as Kafka's `AclControlManager.createAcls` does: each
    /// creation is validated on its own; the valid ones that are not already present are written
    /// to the metadata log as `AccessControlEntryRecord`s in one append.
    /// - Returns: one result per creation, in order: NONE, INVALID_REQUEST (see
    ///   ``AclBinding/init(creation:id:)``), or the write's error (NOT_CONTROLLER, KAFKA_STORAGE_ERROR)
    ///   for every creation that needed a record.
    func createAcls(_ creations: [AclData]) async -> [CreateAclsResponse.Result] {
        await serialized {
            var results: [CreateAclsResponse.Result] = []
            var records: [MetadataRecord] = []
            var written: [Int] = []
            var present = Set(image.acls.values.map(\.key))
            for creation in creations {
                do {
                    let acl = try AclBinding(creation: creation, id: UUIDBytes.random())
                    results.append(.init())
                    if present.insert(acl.key).inserted {
                        records.append(.accessControlEntry(id: acl.id, acl: acl.data))
                        written.append(results.count - 1)
                    }
                } catch let error as AclError {
                    results.append(.init(errorCode: error.code, errorMessage: error.message))
                } catch {
                    results.append(.init(errorCode: .unknownServerError, errorMessage: "\(error)"))
                }
            }
            do {
                try await commit(records)
                if !records.isEmpty { logger.info("created ACLs", metadata: ["count": "\(records.count)"]) }
            } catch {
                let failure = error as? ControllerWriteError ?? ControllerWriteError(code: .unknownServerError, message: "\(error)")
                for index in written { results[index] = .init(errorCode: failure.code, errorMessage: failure.message) }
            }
            return results
        }
    }

    /// Removes every ACL matching any of `filters` (DeleteAcls), writing one
    /// `RemoveAccessControlEntryRecord` per ACL in one append.
    /// - Returns: per filter, in order, the ACLs it matched (an ACL matched by two filters is listed
    ///   under both), or INVALID_REQUEST for a filter with unknown codes; the write's error on every
    ///   filter when the metadata log cannot be written.
    func deleteAcls(_ filters: [AclFilterData]) async -> [DeleteAclsResponse.FilterResult] {
        await serialized {
            var results: [DeleteAclsResponse.FilterResult] = []
            var doomed: Set<UUIDBytes> = []
            let current = image.acls.values.sorted { $0.data.resourceName < $1.data.resourceName }
            for data in filters {
                do {
                    let filter = try AclFilter(data)
                    let matching = current.filter(filter.matches)
                    doomed.formUnion(matching.map(\.id))
                    results.append(.init(matchingAcls: matching.map { .init(acl: $0.data) }))
                } catch let error as AclError {
                    results.append(.init(errorCode: error.code, errorMessage: error.message, matchingAcls: []))
                } catch {
                    results.append(.init(errorCode: .unknownServerError, errorMessage: "\(error)", matchingAcls: []))
                }
            }
            do {
                try await commit(doomed.sorted { ($0.high, $0.low) < ($1.high, $1.low) }.map { .removeAccessControlEntry(id: $0) })
                if !doomed.isEmpty { logger.info("deleted ACLs", metadata: ["count": "\(doomed.count)"]) }
            } catch {
                let failure = error as? ControllerWriteError ?? ControllerWriteError(code: .unknownServerError, message: "\(error)")
                return filters.map { _ in .init(errorCode: failure.code, errorMessage: failure.message, matchingAcls: []) }
            }
            return results
        }
    }
}
