"""The registered model bundle: the one seam between training and serving.

Training writes a bundle (booster, calibrator, category levels, feature state)
and logs it to MLflow as a pyfunc; serving and queues load it from the
registry. Neither side imports the other: both import this package.
"""
