package imgproc

import "bytes"

// writeFlatJPEG encodes a baseline JPEG with ncomp components (3 = YCbCr,
// 4 = Adobe CMYK), 8 rows and one 8×8 block per entry of blocks, each block a
// flat colour given as stored sample values per component. Only DC
// coefficients are coded. It exists because no tool here writes CMYK JPEGs.
// sofW/sofH override the size written in the frame header when non-zero.
func writeFlatJPEG(ncomp int, blocks [][]uint8, sofW, sofH int) []byte {
	var b bytes.Buffer
	seg := func(marker byte, body []byte) {
		b.Write([]byte{0xff, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)})
		b.Write(body)
	}
	b.Write([]byte{0xff, 0xd8})
	if ncomp == 4 {
		seg(0xee, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}) // transform 0: CMYK
	}
	q := make([]byte, 65)
	for i := 1; i < 65; i++ {
		q[i] = 1
	}
	seg(0xdb, q)
	w, h := 8*len(blocks), 8
	if sofW != 0 || sofH != 0 {
		w, h = sofW, sofH
	}
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(ncomp)}
	for c := 0; c < ncomp; c++ {
		sof = append(sof, byte(c+1), 0x11, 0)
	}
	seg(0xc0, sof)
	// Standard luminance DC table (categories 0..11) and an AC table holding
	// only EOB (code "0").
	dc := []byte{0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	seg(0xc4, dc)
	ac := []byte{0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00}
	seg(0xc4, ac)
	sos := []byte{byte(ncomp)}
	for c := 0; c < ncomp; c++ {
		sos = append(sos, byte(c+1), 0x00)
	}
	sos = append(sos, 0, 63, 0)
	seg(0xda, sos)
	if sofW != 0 || sofH != 0 {
		return b.Bytes() // header only
	}
	dcCodes := []struct {
		code uint32
		n    uint
	}{{0, 2}, {2, 3}, {3, 3}, {4, 3}, {5, 3}, {6, 3}, {14, 4}, {30, 5}, {62, 6}, {126, 7}, {254, 8}, {510, 9}}
	var acc uint64
	var nbits uint
	put := func(v uint32, n uint) {
		acc = acc<<n | uint64(v)&(1<<n-1)
		nbits += n
		for nbits >= 8 {
			byt := byte(acc >> (nbits - 8))
			b.WriteByte(byt)
			if byt == 0xff {
				b.WriteByte(0)
			}
			nbits -= 8
		}
	}
	prev := make([]int, ncomp)
	for _, blk := range blocks {
		for c := 0; c < ncomp; c++ {
			v := (int(blk[c]) - 128) * 8
			d := v - prev[c]
			prev[c] = v
			ad, cat := d, uint(0)
			if ad < 0 {
				ad = -ad
			}
			for ad > 0 {
				cat++
				ad >>= 1
			}
			put(dcCodes[cat].code, dcCodes[cat].n)
			if cat > 0 {
				bits := d
				if d < 0 {
					bits = d - 1
				}
				put(uint32(bits), cat)
			}
			put(0, 1) // EOB
		}
	}
	if nbits > 0 {
		put(1<<(8-nbits)-1, 8-nbits)
	}
	b.Write([]byte{0xff, 0xd9})
	return b.Bytes()
}
