package board

import "time"

// Rated maximum duties used by the built-in profiles. The near-infrared
// limit keeps a typical 850 nm LED at arm's length inside the IEC 62471
// exempt group for the exposure of one session; check your LED's datasheet
// and the optics before raising it.
const (
	maxDutyWhite = 0.8
	maxDutyIR    = 0.5
	maxDutyRGB   = 0.6
)

// pcaRGBIR is the usual PCA9685 wiring: red, green, blue, infrared on
// outputs 0–3.
func pcaRGBIR() []LightSpec {
	return []LightSpec{
		{Name: "red", Driver: LightPCA9685, Channel: 0, MaxDuty: maxDutyRGB},
		{Name: "green", Driver: LightPCA9685, Channel: 1, MaxDuty: maxDutyRGB},
		{Name: "blue", Driver: LightPCA9685, Channel: 2, MaxDuty: maxDutyRGB},
		{Name: "ir", Driver: LightPCA9685, Channel: 3, MaxDuty: maxDutyIR},
	}
}

var profiles = map[string]Profile{
	"rpi4": {
		Name:        "rpi4",
		Description: "Raspberry Pi 4 Model B: relay, PIR, status LED and buzzer on the 40-pin header (BCM numbering), white LED on hardware PWM0 (GPIO18), RGB and IR on a PCA9685 and a VL53L0X on I²C1, USB or CSI camera on /dev/video0",
		Relay:       RelaySpec{Pin: Pin{Name: "GPIO17"}, MaxOn: 3 * time.Second},
		Lights: append([]LightSpec{
			{Name: "white", Driver: LightPWM, Pin: Pin{Name: "GPIO18"}, MaxDuty: maxDutyWhite, FrequencyHz: 1000},
		}, pcaRGBIR()...),
		PCA9685:          PCA9685Spec{I2CDevice: I2CDevice{Bus: "1", Addr: 0x40}, FrequencyHz: 1000},
		PIR:              Pin{Name: "GPIO27"},
		ToF:              ToFSpec{I2CDevice: I2CDevice{Bus: "1", Addr: 0x29}, NearMM: 600},
		Status:           Pin{Name: "GPIO22"},
		Buzzer:           Pin{Name: "GPIO23"},
		Camera:           CameraSpec{Source: CameraV4L2, Device: "/dev/video0", Format: "YUYV", Width: 640, Height: 480, FPS: 30},
		InferenceThreads: 3,
	},
	"rpi5": {
		Name:        "rpi5",
		Description: "Raspberry Pi 5: same header wiring as rpi4; the white LED moves to PCA9685 output 4 because periph.io has no driver for the RP1 PWM",
		Relay:       RelaySpec{Pin: Pin{Name: "GPIO17"}, MaxOn: 3 * time.Second},
		Lights: append(pcaRGBIR(),
			LightSpec{Name: "white", Driver: LightPCA9685, Channel: 4, MaxDuty: maxDutyWhite}),
		PCA9685:          PCA9685Spec{I2CDevice: I2CDevice{Bus: "1", Addr: 0x40}, FrequencyHz: 1000},
		PIR:              Pin{Name: "GPIO27"},
		ToF:              ToFSpec{I2CDevice: I2CDevice{Bus: "1", Addr: 0x29}, NearMM: 600},
		Status:           Pin{Name: "GPIO22"},
		Buzzer:           Pin{Name: "GPIO23"},
		Camera:           CameraSpec{Source: CameraV4L2, Device: "/dev/video0", Format: "YUYV", Width: 640, Height: 480, FPS: 30},
		InferenceThreads: 3,
	},
	"imx8mp": {
		Name:        "imx8mp",
		Description: "NXP i.MX 8M Plus EVK expansion header: GPIO5_IO06–09 (sysfs numbers 134–137) for relay, PIR, status LED and buzzer; every LED on a PCA9685 and a VL53L0X on I2C3 (/dev/i2c-2); MIPI-CSI camera through the ISI on /dev/video2",
		Relay:       RelaySpec{Pin: Pin{Name: "GPIO134"}, MaxOn: 3 * time.Second},
		Lights: append(pcaRGBIR(),
			LightSpec{Name: "white", Driver: LightPCA9685, Channel: 4, MaxDuty: maxDutyWhite}),
		PCA9685:          PCA9685Spec{I2CDevice: I2CDevice{Bus: "2", Addr: 0x40}, FrequencyHz: 1000},
		PIR:              Pin{Name: "GPIO135"},
		ToF:              ToFSpec{I2CDevice: I2CDevice{Bus: "2", Addr: 0x29}, NearMM: 600},
		Status:           Pin{Name: "GPIO136"},
		Buzzer:           Pin{Name: "GPIO137"},
		Camera:           CameraSpec{Source: CameraV4L2, Device: "/dev/video2", Format: "YUYV", Width: 640, Height: 480, FPS: 30},
		InferenceThreads: 3,
	},
	"rk3588": {
		Name:        "rk3588",
		Description: "Rockchip RK3588 (Radxa ROCK 5B 40-pin header): GPIO3_B5, GPIO3_B6, GPIO3_C1, GPIO4_B2 (sysfs 109, 110, 113, 138) for relay, PIR, status LED and buzzer; every LED on a PCA9685 and a VL53L0X on I2C7; USB UVC camera in MJPEG on /dev/video0",
		Relay:       RelaySpec{Pin: Pin{Name: "GPIO109"}, MaxOn: 3 * time.Second},
		Lights: append(pcaRGBIR(),
			LightSpec{Name: "white", Driver: LightPCA9685, Channel: 4, MaxDuty: maxDutyWhite}),
		PCA9685:          PCA9685Spec{I2CDevice: I2CDevice{Bus: "7", Addr: 0x40}, FrequencyHz: 1000},
		PIR:              Pin{Name: "GPIO110"},
		ToF:              ToFSpec{I2CDevice: I2CDevice{Bus: "7", Addr: 0x29}, NearMM: 600},
		Status:           Pin{Name: "GPIO113"},
		Buzzer:           Pin{Name: "GPIO138"},
		Camera:           CameraSpec{Source: CameraV4L2, Device: "/dev/video0", Format: "MJPEG", Width: 1280, Height: 720, FPS: 30},
		InferenceThreads: 4,
	},
	"sim": {
		Name:        "sim",
		Description: "Simulated kiosk on any Linux machine: rpi4 pin names on gpiotest pins, an in-memory PCA9685 and VL53L0X on bus \"sim\", a synthetic face camera that reflects the LEDs (or a recording with camera_source=file)",
		Relay:       RelaySpec{Pin: Pin{Name: "GPIO17"}, MaxOn: 3 * time.Second},
		Lights: append([]LightSpec{
			{Name: "white", Driver: LightPWM, Pin: Pin{Name: "GPIO18"}, MaxDuty: maxDutyWhite, FrequencyHz: 1000},
		}, pcaRGBIR()...),
		PCA9685:          PCA9685Spec{I2CDevice: I2CDevice{Bus: SimBus, Addr: 0x40}, FrequencyHz: 1000},
		PIR:              Pin{Name: "GPIO27"},
		ToF:              ToFSpec{I2CDevice: I2CDevice{Bus: SimBus, Addr: 0x29}, NearMM: 600},
		Status:           Pin{Name: "GPIO22"},
		Buzzer:           Pin{Name: "GPIO23"},
		Camera:           CameraSpec{Source: CameraSynthetic, Format: "RGB24", Width: 640, Height: 480, FPS: 30},
		InferenceThreads: 1,
	},
}

// SimBus is the I²C bus name of the sim board's in-memory chips.
const SimBus = "sim"
