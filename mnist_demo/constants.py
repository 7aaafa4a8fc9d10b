"""Numbers the whole package shares, kept in one place."""

from pathlib import Path

# The project folder (the one holding app.py, checkpoints/ and data/).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# MNIST pixel statistics over the 60,000 training images (pixel values scaled to 0..1).
# Every input is normalised with these, in training and in the app alike.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

IMAGE_SIZE = 28  # MNIST images are 28x28 grey pixels
DIGIT_BOX = 20  # MNIST digits were scaled so the longer side fits 20 pixels
NUM_CLASSES = 10
CLASS_NAMES = [str(digit) for digit in range(NUM_CLASSES)]

# The lesson's network: 784 -> 128 -> ReLU -> 10.
INPUT_SIZE = IMAGE_SIZE * IMAGE_SIZE
HIDDEN_SIZE = 128

# Where the MNIST files live: $MNIST_DATA_DIR, or ./data in the project folder.
DATA_DIR_ENV = "MNIST_DATA_DIR"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"

# The trained model that ships with the app, and its JSON metadata next to it.
CHECKPOINT_DIR = PROJECT_ROOT / "checkpoints"
SHIPPED_CHECKPOINT = CHECKPOINT_DIR / "mnist_mlp.pt"

TRAIN_IMAGES = 60_000  # MNIST's training set; the test set has 10,000
EVAL_SIZE = 1_000  # held-out test images measured during a run (the first 1,000)
