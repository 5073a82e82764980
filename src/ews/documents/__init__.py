"""Reading documents: a PDF's AcroForm, its text layer, OCR of scans, and the signed
Gemeinsame Erklärung (adapter: pypdf, pdftoppm, tesseract, zxing)."""
