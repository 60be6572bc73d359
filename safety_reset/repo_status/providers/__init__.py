"""Repository providers behind one interface (base.RepositoryProvider): GitHub and plain git."""
