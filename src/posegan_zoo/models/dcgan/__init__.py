"""DCGAN (Radford, Metz, Chintala 2015): generator, discriminator, trainer, sample grids."""

from posegan_zoo.models.dcgan.callbacks import (
    GeneratedImagesCallback,
    image_grid,
    save_image_grid,
)
from posegan_zoo.models.dcgan.data import disc_images, image_dataset, read_image_folder
from posegan_zoo.models.dcgan.models import (
    SUPPORTED_IMAGE_SIZES,
    DCGANDiscriminator,
    DCGANGenerator,
)
from posegan_zoo.models.dcgan.trainer import DCGANTrainer, UnconditionalGANTrainer

__all__ = [
    "SUPPORTED_IMAGE_SIZES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "DCGANTrainer",
    "GeneratedImagesCallback",
    "UnconditionalGANTrainer",
    "disc_images",
    "image_dataset",
    "image_grid",
    "read_image_folder",
    "save_image_grid",
]
