"""Helper package for the course "Debugging Neural Networks" (Keras 3).

Modules, each named by purpose: ``data`` (Fashion-MNIST), ``models`` (the module's
demonstration models), ``diagnostics`` (activations, gradients, weights, checks),
``gradcheck`` (numerical gradient checking), ``callbacks`` (training monitors),
``lr`` (learning-rate range test) and ``plots`` (figures).

Importing ``course`` before TensorFlow keeps TensorFlow's C++ start-up log off
stderr (a notebook's stderr is noise to students and fails autograded cells).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
