"""Helper package for the course "Debugging Neural Networks" (Keras 3).

Modules, each named by purpose: ``data`` (Fashion-MNIST), ``models`` (the module's
demonstration models), ``diagnostics`` (activations, gradients, weights, checks),
``gradcheck`` (numerical gradient checking), ``callbacks`` (training monitors),
``lr`` (learning-rate range test) and ``plots`` (figures).

Importing ``course`` before TensorFlow keeps TensorFlow's C++ start-up log off
stderr (a notebook's stderr is noise to students and fails autograded cells).
``TF_CPP_MIN_LOG_LEVEL`` does not silence the oneDNN notice TensorFlow 2.21 prints
on CPUs with AVX-512 (it is written before TensorFlow's logging starts), so oneDNN's
custom operations are turned off too: that also gives every student the numbers
the committed notebooks show, whatever their CPU.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
