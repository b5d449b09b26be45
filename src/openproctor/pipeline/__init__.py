"""From a received JPEG to detections: cheap gates, then the models, in worker processes."""
