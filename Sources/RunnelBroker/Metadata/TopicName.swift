import Foundation

/// Kafka's topic name rule (`Topic.validate`): 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
public enum TopicName {
    public static let maxLength = 249

    /// `nil` when `name` is legal, else the reason.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "topic name is empty" }
        if name == "." || name == ".." { return "topic name cannot be '.' or '..'" }
        if name.utf8.count > maxLength { return "topic name is longer than \(maxLength) characters" }
        let legal = name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || c == 0x2D
        }
        if !legal { return "topic name '\(name)' contains characters other than ASCII alphanumerics, '.', '_' and '-'" }
        return nil
    }
}

extension TopicName {
    /// Kafka's `Topic.unifyCollisionChars`: `.` and `_` collide in metric names, so two topics that
    /// differ only in them cannot both exist.
    public static func collisionKey(_ name: String) -> String {
        name.replacingOccurrences(of: ".", with: "_")
    }

    /// The internal topic holding committed offsets and group metadata.
    public static let consumerOffsets = "__consumer_offsets"

    /// Topics the broker owns (Kafka's `Topic.isInternal`): clients can read them and see them in
    /// Metadata with `is_internal` set, but cannot create or delete them.
    public static func isInternal(_ name: String) -> Bool {
        name == consumerOffsets
    }
}
