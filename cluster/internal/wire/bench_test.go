package wire

import (
	"io"
	"testing"
)

func BenchmarkEncodeFrame(b *testing.B) {
	for _, m := range sampleMessages() {
		b.Run(m.Type().String(), func(b *testing.B) {
			fw := NewFrameWriter(io.Discard, 0)
			fw.WriteMessage(m)
			b.ReportAllocs()
			for b.Loop() {
				if err := fw.WriteMessage(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, m := range sampleMessages() {
		body, err := m.MarshalMsg(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(m.Type().String(), func(b *testing.B) {
			b.SetBytes(int64(len(body)) + frameHdrLen)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeMessage(m.Type(), body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
