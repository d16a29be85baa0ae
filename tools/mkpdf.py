#!/usr/bin/python3
"""mkpdf.py -- write the small PDF fixtures under fixtures/pdf/.

Run by hand when the fixtures change (the outputs are committed, so the
build and tests need neither Python nor this script):

    /usr/bin/python3 tools/mkpdf.py fixtures

Every PDF is written byte by byte here, with exact xref offsets, so each
fixture holds exactly the layout a test needs: running headers and footers,
words hyphenated at line ends, ligature glyphs, two columns, headings in a
larger font. The encrypted variants are made from these with qpdf.
"""
import os
import subprocess
import sys

# Code points above 0x7f used for ligature glyphs via /Differences.
LIG = {"\ufb01": b"\x80", "\ufb02": b"\x81"}


def enc(text):
    out = b""
    for ch in text:
        if ch in LIG:
            out += LIG[ch]
        else:
            b = ch.encode("cp1252")
            out += b.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return out


class Pdf:
    def __init__(self, title, author, created):
        self.objs = []
        self.pages = []
        self.info = (title, author, created)

    def add(self, body):
        self.objs.append(body)
        return len(self.objs)

    def page(self, lines):
        """lines: (x, y_from_top, size, bold, text)"""
        ops = []
        for x, y, size, bold, text in lines:
            font = b"/F2" if bold else b"/F1"
            ops.append(b"BT %s %d Tf %.1f %.1f Td (%s) Tj ET" % (font, size, x, 842 - y, enc(text)))
        self.pages.append(b"\n".join(ops))

    def write(self, path):
        self.objs = []
        encoding = self.add(b"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding "
                            b"/Differences [128 /fi /fl] >>")
        f1 = self.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding %d 0 R >>" % encoding)
        f2 = self.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding %d 0 R >>" % encoding)
        pages_id = len(self.objs) + 2 * len(self.pages) + 1
        kids = []
        for content in self.pages:
            cid = self.add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
            kids.append(self.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "
                                 b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> "
                                 b"/Contents %d 0 R >>" % (pages_id, f1, f2, cid)))
        assert self.add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
            b" ".join(b"%d 0 R" % k for k in kids), len(kids))) == pages_id
        title, author, created = self.info
        info = self.add(b"<< /Title (%s) /Author (%s) /CreationDate (D:%s) /Producer (nuzantara mkpdf) >>"
                        % (enc(title), enc(author), created.encode()))
        catalog = self.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
        out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        offsets = []
        for i, body in enumerate(self.objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objs) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(self.objs) + 1, catalog, info, xref)
        with open(path, "wb") as f:
            f.write(out)


def wrap_page(pdf, header, footer, body, top=90, x=72, width_chars=88, two_col=False):
    """body: list of (kind, text) with kind heading1/heading2/para/item, and
    'para' texts containing '|' where a line must break (to force a hyphen)."""
    lines = [(72, 40, 9, False, header), (250, 815, 9, False, footer)]
    y = top
    col_x = [72, 310] if two_col else [x]
    col = 0
    bottom = 780
    for kind, text in body:
        if kind == "colbreak":
            col, y = 1, top
            continue
        if kind.startswith("heading"):
            size = 16 if kind == "heading1" else 13
            y += 10
            lines.append((col_x[col], y, size, True, text))
            y += size + 8
            continue
        size, lead = 10, 12.5
        chars = 44 if two_col else width_chars
        indent = 14 if kind == "item" else 0
        # explicit breaks with |, else greedy wrap
        chunks = []
        for part in text.split("|"):
            words, cur = part.split(), ""
            for w in words:
                if cur and len(cur) + 1 + len(w) > chars:
                    chunks.append(cur)
                    cur = w
                else:
                    cur = (cur + " " + w).strip()
            if cur:
                chunks.append(cur)
        for c in chunks:
            if y > bottom:
                if two_col and col == 0:
                    col, y = 1, top
                else:
                    raise SystemExit("page overflow: " + text[:40])
            lines.append((col_x[col] + indent, y, size, False, c))
            y += lead
        y += 8
    pdf.page(lines)


REG_TITLE = "Peraturan Menteri Keuangan tentang Pendaftaran Wajib Pajak"
HEADER = "SALINAN PERATURAN MENTERI KEUANGAN REPUBLIK INDONESIA NOMOR 12 TAHUN 2025"


def regulation(path):
    pdf = Pdf(REG_TITLE, "Kementerian Keuangan", "20250115093000+07'00'")
    pages = [
        [("heading1", "BAB I"), ("heading1", "KETENTUAN UMUM"), ("heading2", "Pasal 1"),
         ("para", "Dalam Peraturan Menteri ini yang dimaksud dengan: Wajib Pajak adalah orang pribadi atau "
                  "badan, meliputi pembayar pajak, pemotong pajak, dan pemungut pajak, yang mempunyai hak "
                  "dan kewajiban perpajakan sesuai dengan ketentuan peraturan perundang-undangan di bidang "
                  "perpajakan. Nomor Pokok Wajib Pajak yang selanjutnya disingkat NPWP adalah nomor yang "
                  "diberikan kepada Wajib Pajak sebagai sarana dalam administrasi perpajakan yang dipergunakan "
                  "sebagai tanda pengenal diri atau identitas Wajib Pajak dalam melaksanakan hak dan kewa-|"
                  "jibannya. Kartu Tanda Penduduk elektronik atau e-|KTP adalah kartu identitas penduduk."),
         ("para", "Warga Negara Asing yang bertempat tinggal di Indonesia lebih dari 183 hari dalam jangka "
                  "waktu dua belas bulan merupakan subjek pajak dalam negeri dan wajib mendaf-|tarkan diri."),
         ("heading2", "Pasal 2"),
         ("item", "(1) Setiap Wajib Pajak yang telah memenuhi persyaratan subjektif dan objektif wajib "
                  "mendaftarkan diri pada Direktorat Jenderal Pajak."),
         ("item", "(2) Pendaftaran sebagaimana dimaksud pada ayat (1) dilakukan secara elektronik melalui "
                  "laman Direktorat Jenderal Pajak atau secara langsung di Kantor Pelayanan Pajak.")],
        [("heading1", "BAB II"), ("heading1", "TATA CARA PENDAFTARAN"), ("heading2", "Pasal 3"),
         ("para", "Permohonan pendaftaran Wajib Pajak badan dilampiri dengan dokumen berupa akta pendirian "
                  "atau dokumen pendirian dan perubahannya, surat keterangan domisili, serta kartu identitas "
                  "pengurus. Dokumen \ufb01skal yang disampaikan harus lengkap dan \ufb02eksibel untuk diveri-|"
                  "\ufb01kasi oleh petugas."),
         ("para", "Dalam hal permohonan telah lengkap, Direktur Jenderal Pajak menerbitkan NPWP paling lama "
                  "satu hari kerja setelah permohonan diterima secara lengkap.")],
        [("heading1", "BAB III"), ("heading1", "KETENTUAN PENUTUP"), ("heading2", "Pasal 4"),
         ("para", "Pengusaha yang peredaran brutonya melebihi Rp4.800.000.000,00 dalam satu tahun buku wajib "
                  "melaporkan usahanya untuk dikukuhkan sebagai Pengusaha Kena Pajak dan memungut Pajak "
                  "Pertambahan Nilai atas penyerahan barang dan jasa kena pajak."),
         ("para", "Pengusaha Kena Pajak wajib membuat faktur pajak untuk setiap penyerahan dan melaporkan "
                  "Surat Pemberitahuan Masa Pajak Pertambahan Nilai setiap bulan paling lambat akhir bulan "
                  "berikutnya. Ketentuan ini berlaku bagi orang pribadi dan badan usaha."),
         ("heading2", "Pasal 5"),
         ("para", "Peraturan Menteri ini mulai berlaku pada tanggal diundangkan. Agar setiap orang mengetahuinya, "
                  "memerintahkan pengundangan Peraturan Menteri ini dengan penempatannya dalam Berita Negara "
                  "Republik Indonesia.")],
    ]
    for i, body in enumerate(pages, 1):
        wrap_page(pdf, HEADER, "Halaman %d dari %d" % (i, len(pages)), body)
    # a two-column page: columns must not interleave
    wrap_page(pdf, HEADER, "Halaman 4 dari 4",
              [("heading2", "Penjelasan"),
               ("para", "Kolom kiri menjelaskan kewajiban pendaftaran bagi Wajib Pajak orang pribadi yang "
                        "menjalankan usaha atau pekerjaan bebas. Setiap Wajib Pajak orang pribadi pengusaha "
                        "tertentu wajib mendaftarkan diri di setiap tempat kegiatan usahanya. Penjelasan "
                        "ini merupakan bagian yang tidak terpisahkan dari Peraturan Menteri. Kolom kiri "
                        "berakhir di sini dengan kalimat penutup kolom kiri."),
               ("colbreak", ""),
               ("para", "Kolom kanan dimulai di sini dan membahas pemeriksaan dalam rangka penerbitan NPWP "
                        "secara jabatan oleh Direktorat Jenderal Pajak apabila Wajib Pajak tidak mendaftarkan "
                        "diri. Kolom kanan berakhir di sini.")],
              top=90, two_col=True)
    pdf.write(path)


def guide_en(path):
    pdf = Pdf("Visa and Stay Permit Guide", "NUZANTARA", "20250301120000Z")
    head = "Visa and Stay Permit Guide - Immigration Notes"
    pages = [
        [("heading1", "Limited Stay Permits"),
         ("para", "A foreign national who works in Indonesia needs a Limited Stay Permit, known as KITAS. "
                  "The sponsoring employer \ufb01rst obtains an approved foreign manpower plan and pays the "
                  "compensation fund. The of\ufb01cial fee schedule is published by the Directorate General "
                  "of Immigration, and the permit is issued after the holder arrives in Indo-|nesia."),
         ("item", "\u2022 The permit is valid for one or two years."),
         ("item", "\u2022 It can be extended without leaving the country.")],
        [("heading1", "Permanent Stay Permits"),
         ("para", "After several consecutive years on a KITAS, spouses of Indonesian citizens and some "
                  "investors may apply for a Permanent Stay Permit, known as KITAP, which is valid for "
                  "\ufb01ve years and can be renewed. Holders must report changes of address to the local "
                  "immigration of\ufb01ce within thirty days.")],
        [("heading1", "Visit Visas"),
         ("para", "Visit visas allow tourism and business meetings but never employment. A visitor who "
                  "works on a visit visa can be deported and barred from returning to Indonesia.")],
    ]
    for i, body in enumerate(pages, 1):
        wrap_page(pdf, head, "Page %d" % i, body)
    pdf.write(path)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    docs_id, docs_en, bad = (os.path.join(root, p) for p in ("docs/id", "docs/en", "bad"))
    for d in (docs_id, docs_en, bad):
        os.makedirs(d, exist_ok=True)
    reg = os.path.join(docs_id, "peraturan-pendaftaran-npwp.pdf")
    regulation(reg)
    guide_en(os.path.join(docs_en, "visa-guide.pdf"))
    # Encrypted variants (qpdf): owner password only, and a user password.
    subprocess.run(["qpdf", "--encrypt", "", "owner-secret", "256", "--", reg,
                    os.path.join(bad, "owner-password-only.pdf")], check=True)
    subprocess.run(["qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--", reg,
                    os.path.join(bad, "user-password.pdf")], check=True)
    data = open(reg, "rb").read()
    with open(os.path.join(bad, "truncated.pdf"), "wb") as f:
        f.write(data[: len(data) // 2])
    # damaged: the right header and trailer, garbage in between
    with open(os.path.join(bad, "damaged.pdf"), "wb") as f:
        f.write(b"%PDF-1.4\n" + bytes((i * 37 + 11) % 256 for i in range(3000)) + b"\n%%EOF\n")


if __name__ == "__main__":
    main()
