"""Letters: their context as plain data, docx rendering from the staff's Word templates, the
template check, the QR code, PDF/A conversion with LibreOffice, the blank form and samples."""
