"""The ideas register: ideas, their immutable versions, and the alliance's ownership rule."""
