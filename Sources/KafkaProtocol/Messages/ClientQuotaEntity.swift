/// One component of a client quota entity (KIP-546 `EntityData`): its type (`user`,
/// `client-id` or `ip`) and its name, nil for the type's default entity (`<default>`).
public struct ClientQuotaEntityComponent: Equatable, Sendable {
    public var entityType: String
    /// nil names the default entity of this type.
    public var entityName: String?
    public var taggedFields = TaggedFields()

    public init(entityType: String, entityName: String?) {
        self.entityType = entityType
        self.entityName = entityName
    }

    init(from reader: inout KafkaReader) throws {
        entityType = try reader.readString("entity_type")
        entityName = try reader.readNullableString("entity_name")
        taggedFields = try reader.readTaggedFields()
    }

    func encode(to writer: inout KafkaWriter) {
        writer.writeString(entityType)
        writer.writeNullableString(entityName)
        writer.writeTaggedFields(taggedFields)
    }
}
