from email.message import EmailMessage

from ews.mail.conversation import MAX_FILES, read_conversation


def reply(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "a@b.de"
    message["Subject"] = "AW: Zusage"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Danke für die Zusage.\n\n> zitiert\n")
    return message


def test_reply_ids_in_order_in_reply_to_first_then_references_newest_first() -> None:
    message = reply(In_Reply_To="<c@x>", References="<a@x> <b@x> <c@x>")
    facts = read_conversation(message.as_bytes(), max_file_bytes=1000)
    assert facts.answers == ["c@x", "b@x", "a@x"]
    assert facts.text.startswith("Danke für die Zusage.")


def test_other_files_are_kept_pdfs_are_not_and_the_count_is_bounded() -> None:
    message = reply()
    message.add_attachment(b"%PDF-1.7 x", maintype="application", subtype="pdf",
                           filename="a.pdf")
    for number in range(MAX_FILES + 2):
        message.add_attachment(b"\xff\xd8 Bild", maintype="image", subtype="jpeg",
                               filename=f"foto-{number}.jpg")
    message.add_attachment(b"x" * 2000, maintype="image", subtype="png", filename="gross.png")
    facts = read_conversation(message.as_bytes(), max_file_bytes=1000)
    assert [file.name for file in facts.files][:2] == ["foto-0.jpg", "foto-1.jpg"]
    assert len(facts.files) == MAX_FILES and facts.left_out == 3


def test_html_only_and_garbage() -> None:
    message = EmailMessage()
    message["Subject"] = "x"
    message.set_content("<p>Hallo&nbsp;Welt</p><script>x()</script><br>Zeile", subtype="html")
    assert read_conversation(message.as_bytes(), max_file_bytes=10).text.split() == [
        "Hallo", "Welt", "Zeile"]
    assert read_conversation(b"\x00\xff" * 100, max_file_bytes=10).answers == []
