"""Nova continued pre-training on SageMaker HyperPod (EKS): recipes, rendering, backend, status."""
