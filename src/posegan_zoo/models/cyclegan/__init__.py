"""CycleGAN (Zhu, Park, Isola, Efros: *Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks*, ICCV 2017): the ResNet generator, the 70 x 70
PatchGAN, the image history pool, the trainer, its learning-rate schedule, the unpaired
image pipeline and the translation sample grids."""

from posegan_zoo.models.cyclegan.callbacks import TranslationGridCallback, translation_grid
from posegan_zoo.models.cyclegan.data import (
    IMAGE_EXTENSIONS,
    image_files,
    unpaired_image_dataset,
)
from posegan_zoo.models.cyclegan.discriminator import PatchDiscriminator
from posegan_zoo.models.cyclegan.generator import ResnetGenerator
from posegan_zoo.models.cyclegan.layers import (
    InstanceNormalization,
    PaddedConv2DTranspose,
    ReflectionPadding2D,
)
from posegan_zoo.models.cyclegan.pool import ImageHistoryPool
from posegan_zoo.models.cyclegan.schedule import LinearDecaySchedule
from posegan_zoo.models.cyclegan.trainer import CycleGANTrainer

__all__ = [
    "IMAGE_EXTENSIONS",
    "CycleGANTrainer",
    "ImageHistoryPool",
    "InstanceNormalization",
    "LinearDecaySchedule",
    "PaddedConv2DTranspose",
    "PatchDiscriminator",
    "ReflectionPadding2D",
    "ResnetGenerator",
    "TranslationGridCallback",
    "image_files",
    "translation_grid",
    "unpaired_image_dataset",
]
