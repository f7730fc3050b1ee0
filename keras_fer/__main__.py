import sys

from keras_fer.cli.main import main

sys.exit(main())
