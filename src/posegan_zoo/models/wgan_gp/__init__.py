"""WGAN-GP (Gulrajani et al. 2017): critic and trainer; the generator is `DCGANGenerator`."""

from posegan_zoo.models.dcgan import DCGANGenerator
from posegan_zoo.models.wgan_gp.critic import CRITIC_NORMALIZATIONS, WGANGPCritic
from posegan_zoo.models.wgan_gp.trainer import WGANGPTrainer

__all__ = ["CRITIC_NORMALIZATIONS", "DCGANGenerator", "WGANGPCritic", "WGANGPTrainer"]
