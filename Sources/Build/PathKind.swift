/// What a path is in a filesystem state, as `BuildSession.lookUp` tells it.
enum PathKind { case missing, directory, other }
