"""The access trail: every request, allowed or refused, sealed into a hash-chained log of its own
(`trail`), and the rules that flag unusual access (`rules`). Stands on the log core only."""
