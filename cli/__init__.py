"""The command line (installed as `keras_fer.cli`): argument parsing only, each command calls the library."""
