"""Writes a small synthetic CT series (one folder, one file per slice) for the DICOM series tests.

usage: make_dicom_series.py OUT_DIR

10 slices of 24 rows x 32 columns, int16, stored value at physical slice k (in order along the slice
normal), row y, column x: 100*k + 3*y + x - 250; RescaleSlope 2, RescaleIntercept -1024 (HU = 2*v - 1024).
PixelSpacing 0.7 (rows) x 0.8 (columns), slices 2.5 mm apart along the normal (SliceThickness 1.0, so
the spacing must come from the positions), the in-plane axes rotated 90 degrees about z (rows along +y,
columns along -x), first slice at (-40, 12.5, 30). File names and InstanceNumbers are both shuffled
relative to the positions, so only ImagePositionPatient gives the right order.
tests/io/dicom_series.h holds the same numbers on the C++ side.
"""
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
SLICES, ROWS, COLS = 10, 24, 32
ROW_DIR, COL_DIR = (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0)  # IOP: direction of a row (x), of a column (y)
NORMAL = np.cross(ROW_DIR, COL_DIR)  # (0, 0, 1)
ORIGIN = np.array([-40.0, 12.5, 30.0])
STEP = 2.5

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
study, series, frame = generate_uid(), generate_uid(), generate_uid()
file_order = [3, 7, 0, 9, 5, 1, 8, 2, 6, 4]  # file i holds physical slice file_order[i]
instance = [6, 2, 9, 4, 1, 10, 3, 8, 5, 7]  # InstanceNumber of physical slice k: not monotonic either
y, x = np.mgrid[0:ROWS, 0:COLS]
for i, k in enumerate(file_order):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE_STORAGE, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.Modality = "Synthetic^Series", "medsam-test", "CT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
    ds.SeriesNumber, ds.InstanceNumber = 1, instance[k]
    ds.ImagePositionPatient = [float(v) for v in ORIGIN + k * STEP * NORMAL]
    ds.ImageOrientationPatient = [*ROW_DIR, *COL_DIR]
    ds.PixelSpacing = [0.7, 0.8]
    ds.SliceThickness = 1.0
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 2, -1024, "HU"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = (100 * k + 3 * y + x - 250).astype("<i2").tobytes()
    pydicom.dcmwrite(os.path.join(out, f"IM{i:04d}.dcm"), ds, write_like_original=False)
