"""Readers for the real datasets' file formats (and the generic HDF5 format, read and write).

- :mod:`.vegas_h5`     the authors' single-file VEGAS release ``vegas_feature.h5``;
- :mod:`.clip_arrays`  the authors' per-clip layout (VEGAS and MV-10K): vgg/, inception/,
                       <classes>/, folds/00.txt ... 04.txt;
- :mod:`.ave`          AVE (Tian et al. 2018): Annotations.txt + feature HDF5 files;
- :mod:`.generic_h5`   bring-your-own-data HDF5 format (documented there);
- ``_checks``          shared validation helpers (one clear DataError per bad input).
"""

from paper_lib.data.formats.ave import read_ave
from paper_lib.data.formats.clip_arrays import read_clip_arrays
from paper_lib.data.formats.generic_h5 import read_generic_h5, write_generic_h5
from paper_lib.data.formats.vegas_h5 import read_vegas_h5

__all__ = ["read_ave", "read_clip_arrays", "read_generic_h5", "read_vegas_h5",
           "write_generic_h5"]
