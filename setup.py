"""lth_keras: lottery tickets and pruning research on Keras 3."""
from setuptools import find_packages, setup

setup(
    name="lth-keras",
    version="0.1.0",
    description="Lottery tickets, pruning at initialization and structured "
    "tickets for Keras 3 on TensorFlow.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["lth_keras", "lth_keras.*"]),
    package_data={"lth_keras.data": ["*.npz"]},
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "tensorflow-datasets",
        "tensorboard",
        "absl-py",
        "numpy",
        "matplotlib",
    ],
    extras_require={
        # The TFMOT baseline's and the energy meter's tests run in CI too (tfmot
        # pins absl-py~=1.2, which the rest of lth_keras works with).
        "test": ["pytest", "pytest-xdist", "hypothesis", "tf-keras",
                 "tensorflow-model-optimization", "codecarbon>=3.3"],
        "tfmot": ["tf-keras", "tensorflow-model-optimization"],
        # Energy and CO2 of the layer-lottery runs (offline tracker).
        "energy": ["codecarbon>=3.3"],
    },
)
