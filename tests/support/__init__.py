"""Test helpers: real servers on loopback and generators of varied inputs."""
