"""The alliance: organisations, the groups ideas evolve in, people and memberships."""
