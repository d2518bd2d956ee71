"""Pretraining corpora: labelled data that is *not* avdigits, for the pretrained feature stage.

The paper never feeds raw signals to its methods: it takes features from networks pretrained on
other data and other labels (VGGish on YouTube audio, Inception V3 on ImageNet). The
``avdigits-pretrained`` regime mirrors that stage with small networks trained in the build on
corpora whose classes are disjoint from the ten digits:

- :mod:`paper_lib.data.pretraining.words`: spoken English words that are not digits (eSpeak NG,
  rendered as avdigits renders its clips), for the audio network
  (:class:`paper_lib.extract.audio_net.AudioNet`);
- :mod:`paper_lib.data.pretraining.letters`: rendered letters that are not digits, for the image
  network (:class:`paper_lib.extract.image_net.ImageNet`).

Every corpus checks its own class list against the digits, so no digit label enters pretraining.
"""
