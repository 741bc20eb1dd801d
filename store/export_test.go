package store

// Seal frames payload as the store keeps a value under key: followed by its checksum.
func Seal(key, payload []byte) []byte { return seal(key, payload) }
